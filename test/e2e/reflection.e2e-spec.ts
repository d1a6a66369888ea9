import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { status } from '@grpc/grpc-js';
import type { DescriptorProto, FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { BYOVA_SERVICE, HEALTH_SERVICE } from '@app/proto';
import { decodeFileDescriptors, ReflectionClient } from '../support/reflection-client';
import { LOCAL_AGENT, REPO, startTestGateway, TestGateway } from './harness';

const run = promisify(execFile);
const REFLECTION_SERVICE = 'grpc.reflection.v1.ServerReflection';

/** Every message and enum a file defines, as `.pkg.Name` (nested included). */
function definedTypes(f: FileDescriptorProto): string[] {
  const out: string[] = [];
  const walk = (scope: string, msgs: DescriptorProto[]) => {
    for (const m of msgs) {
      const fqn = `${scope}.${m.name}`;
      out.push(fqn, ...m.enumType.map((e) => `${fqn}.${e.name}`));
      walk(fqn, m.nestedType);
    }
  };
  const pkg = f.package ? `.${f.package}` : '';
  out.push(...f.enumType.map((e) => `${pkg}.${e.name}`));
  walk(pkg, f.messageType);
  return out;
}

/** Every type a file refers to (fields, nested fields, method inputs/outputs). */
function referencedTypes(f: FileDescriptorProto): string[] {
  const out: string[] = [];
  const walk = (msgs: DescriptorProto[]) => {
    for (const m of msgs) {
      out.push(...m.field.map((x) => x.typeName).filter(Boolean));
      walk(m.nestedType);
    }
  };
  walk(f.messageType);
  for (const s of f.service) for (const m of s.method) out.push(m.inputType, m.outputType);
  return out;
}

describe('server reflection (grpc.reflection.v1) over real gRPC', () => {
  let t: TestGateway;
  let reflection: ReflectionClient;
  beforeAll(async () => {
    t = await startTestGateway();
    reflection = new ReflectionClient(t.target);
  });
  afterAll(async () => {
    reflection.close();
    await t.stop();
  });

  it('list_services names the BYOVA, health and reflection services', async () => {
    const [res] = await reflection.ask([{ listServices: '' }]);
    const names = res.listServicesResponse!.service.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining([BYOVA_SERVICE, HEALTH_SERVICE, REFLECTION_SERVICE]));
  });

  it('file_containing_symbol returns the BYOVA file and imports that a strict client can link', async () => {
    const [res] = await reflection.ask([{ fileContainingSymbol: BYOVA_SERVICE }]);
    const files = decodeFileDescriptors(res.fileDescriptorResponse!.fileDescriptorProto);
    const main = files[0];
    expect([main.name, main.package]).toEqual(['voicevirtualagent.proto', 'com.cisco.wcc.ccai.media.v1']);
    const svc = main.service.find((s) => s.name === 'VoiceVirtualAgent')!;
    expect(svc.method.map((m) => [m.name, m.inputType, m.outputType, !!m.clientStreaming, !!m.serverStreaming])).toEqual(
      expect.arrayContaining([
        ['ProcessCallerInput', '.com.cisco.wcc.ccai.media.v1.VoiceVARequest', '.com.cisco.wcc.ccai.media.v1.VoiceVAResponse', true, true],
        ['ListVirtualAgents', '.com.cisco.wcc.ccai.media.v1.ListVARequest', '.com.cisco.wcc.ccai.media.v1.ListVAResponse', false, false],
      ]),
    );
    // Closed and linkable: each file's imports are in the answer, and every type a file uses is defined
    // in that file or in one of the files it imports (what protoc, buf and grpcurl require).
    const byName = new Map(files.map((f) => [f.name, f]));
    expect(main.dependency).toEqual(expect.arrayContaining(['byova_common.proto', 'google/protobuf/timestamp.proto', 'google/protobuf/struct.proto']));
    for (const f of files) {
      for (const d of f.dependency) expect([f.name, d, byName.has(d)]).toEqual([f.name, d, true]);
      const visible = new Set([f, ...f.dependency.map((d) => byName.get(d)!)].flatMap(definedTypes));
      const missing = referencedTypes(f).filter((r) => !visible.has(r));
      expect([f.name, missing]).toEqual([f.name, []]);
    }
  });

  it('answers an unknown symbol with a NOT_FOUND error_response on the same stream', async () => {
    const [bad, good] = await reflection.ask([{ fileContainingSymbol: 'no.such.Symbol' }, { fileContainingSymbol: HEALTH_SERVICE }]);
    expect(bad.errorResponse?.errorCode).toBe(status.NOT_FOUND);
    expect(decodeFileDescriptors(good.fileDescriptorResponse!.fileDescriptorProto)[0].name).toBe('grpc/health/v1/health.proto');
  });

  // A second, independent gRPC stack: buf (Go, a devDependency) builds its schema from reflection alone.
  const BUF = join(REPO, 'node_modules/.bin/buf');
  // Other clients' checks skip only on a developer's machine without them; CI installs them (.ci/run) and runs them.
  (existsSync(BUF) || process.env.CI ? it : it.skip)('buf curl (Go gRPC) lists the methods and calls ListVirtualAgents through reflection', async () => {
    const url = `http://${t.target}`;
    const base = ['curl', '--protocol', 'grpc', '--http2-prior-knowledge'];
    const methods = (await run(BUF, [...base, '--list-methods', url], { timeout: 10_000 })).stdout.split('\n');
    expect(methods).toEqual(expect.arrayContaining([`${BYOVA_SERVICE}/ListVirtualAgents`, `${BYOVA_SERVICE}/ProcessCallerInput`, `${HEALTH_SERVICE}/Check`]));
    const list = await run(BUF, [...base, '-d', '{"customer_org_id":"org-1"}', `${url}/${BYOVA_SERVICE}/ListVirtualAgents`], { timeout: 10_000 });
    expect(JSON.parse(list.stdout)).toEqual({ virtualAgents: [{ virtualAgentId: LOCAL_AGENT, virtualAgentName: 'Local Playback', isDefault: true }] });
  });

  // A third stack: Debian's python3-grpcio (installed by .ci/run) lives in the system interpreter, which
  // may not be the first python3 on PATH.
  const PY_CLIENT = join(REPO, 'test/support/python_caller.py');
  const PYTHON = ['/usr/bin/python3', 'python3'].find((py) => spawnSync(py, ['-c', 'import grpc']).status === 0);
  const pyGrpc = PYTHON !== undefined;
  // Under CI these run even without the module, and must fail saying so rather than on an undefined interpreter.
  const python = (): string => {
    if (PYTHON === undefined) throw new Error('python3 with the grpc module is needed (Debian python3-grpcio; .ci/run installs it)');
    return PYTHON;
  };
  (pyGrpc || process.env.CI ? it : it.skip)(
    `python grpcio calls ListVirtualAgents by raw method path${pyGrpc ? '' : ' [SKIPPED: python3 grpc module not installed (python3-grpcio)]'}`,
    async () => {
      const { stdout } = await run(python(), [PY_CLIENT, t.target], { timeout: 10_000 });
      expect(stdout.trim().split('\n')).toEqual([LOCAL_AGENT]);
    },
  );
  (pyGrpc || process.env.CI ? it : it.skip)(
    `python grpcio makes a call over the bidi stream (welcome, DTMF, goodbye)${pyGrpc ? '' : ' [SKIPPED: python3 grpc module not installed]'}`,
    async () => {
      const { stdout } = await run(python(), [PY_CLIENT, t.target, '--call'], { timeout: 10_000 });
      expect(stdout.trim().split('\n')).toEqual(['FINAL wav', '-', 'FINAL SESSION_END wav']);
    },
  );
  it('the python client\'s hand-written protobuf codec is sound (runs without grpc)', async () => {
    expect((await run('python3', [PY_CLIENT, '--selftest'])).stdout.trim()).toBe('ok');
  });
});

describe('reflection switched off', () => {
  it('answers the reflection service with UNIMPLEMENTED', async () => {
    const t = await startTestGateway({ gateway: { reflection: false } });
    const reflection = new ReflectionClient(t.target);
    try {
      await expect(reflection.ask([{ listServices: '' }])).rejects.toMatchObject({ code: status.UNIMPLEMENTED });
    } finally {
      reflection.close();
      await t.stop();
    }
  });
});
