import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ts from 'typescript';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { loadGatewayConfig } from '@app/config';
import { BYOVA_SERVICE } from '@app/proto';

// deploy/ rendered by `kubectl kustomize` (kubectl 1.21+; .ci/run installs one if missing), each object checked
// against the Kubernetes API schemas (kubernetes-models: validators generated from Kubernetes' OpenAPI document),
// then the properties that make the gateway behave in a cluster. Unknown field names are caught by type-checking
// each object against the models' TypeScript interfaces (see unknownFields).
const REPO = resolve(__dirname, '../..');
const OVERLAYS = ['plain', 'tls'] as const;
type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [k: string]: any };

function render(overlay: string): Obj[] {
  const r = spawnSync('kubectl', ['kustomize', join(REPO, 'deploy/overlays', overlay)], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new Error(`kubectl kustomize could not run (install kubectl): ${r.error.message}`);
  // kubectl before 1.21 carries kustomize v2, which reads directories only under the deprecated `bases`.
  if (r.status !== 0) throw new Error(`kubectl kustomize ${overlay} failed (kustomize v4+, i.e. kubectl 1.21+, is needed): ${r.stderr}`);
  // Deprecated fields render with a warning: the manifests use none.
  expect(r.stderr).toBe('');
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
}

/** The schema model of an object, e.g. apps/v1 Deployment → kubernetes-models/apps/v1/Deployment. */
function model(o: Obj): { validate(): void } {
  const mod = require(`kubernetes-models/${o.apiVersion}/${o.kind}`) as Record<string, new (d: unknown) => { validate(): void }>;
  return new mod[o.kind](o);
}

/**
 * Field names the API does not know (a typo such as `readinesProbe` is silently dropped by the API server): the
 * schema validators let extra fields through, so each object is type-checked as an object literal of the model's
 * interface, where TypeScript reports every property the interface lacks, at any depth. Returns the messages.
 */
function unknownFields(objs: Obj[]): string[] {
  const file = join(REPO, 'test/deploy/__rendered__.ts');
  const source =
    objs.map((o, i) => `import type { I${o.kind} as T${i} } from 'kubernetes-models/${o.apiVersion}/${o.kind}';`).join('\n') +
    '\n' +
    objs.map((o, i) => `export const o${i}: T${i} = ${JSON.stringify(o)};`).join('\n');
  const options: ts.CompilerOptions = { strict: true, noEmit: true, skipLibCheck: true, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2022, types: [] };
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (resolve(name) === file ? ts.createSourceFile(name, source, lang) : read(name, lang, ...rest));
  host.fileExists = ((exists) => (name: string) => resolve(name) === file || exists(name))(host.fileExists.bind(host));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
}

const rendered = Object.fromEntries(OVERLAYS.map((o) => [o, render(o)])) as Record<(typeof OVERLAYS)[number], Obj[]>;
const one = (objs: Obj[], kind: string, name?: string): Obj => {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(found.map((o) => o.metadata.name)).toHaveLength(1);
  return found[0];
};
const container = (objs: Obj[]) => one(objs, 'Deployment').spec.template.spec.containers[0];
const configOf = (objs: Obj[]) => parseYaml(one(objs, 'ConfigMap').data['config.yaml']);

describe.each(OVERLAYS)('overlay %s', (overlay) => {
  const objs = rendered[overlay];
  const deployment = one(objs, 'Deployment', 'byova-gateway');
  const pod = deployment.spec.template;
  const c = container(objs);
  const portNumber = (p: number | string) => (typeof p === 'number' ? p : c.ports.find((x: { name: string }) => x.name === p)?.containerPort);

  it('renders the expected objects, each valid against the Kubernetes API schemas', () => {
    expect(objs.map((o) => `${o.apiVersion} ${o.kind}`).sort()).toEqual(
      ['apps/v1 Deployment', 'autoscaling/v2 HorizontalPodAutoscaler', 'policy/v1 PodDisruptionBudget', 'v1 ConfigMap', 'v1 Service', 'v1 Service'].sort(),
    );
    for (const o of objs) expect(() => model(o).validate()).not.toThrow();
    expect(unknownFields(objs)).toEqual([]);
  });

  it('its config.yaml loads without problems, mounted where GATEWAY_CONFIG points, on the ports the pod declares', () => {
    const cm = one(objs, 'ConfigMap');
    const volume = pod.spec.volumes.find((v: any) => v.configMap?.name === cm.metadata.name);
    const mount = c.volumeMounts.find((m: any) => m.name === volume.name);
    const env = Object.fromEntries(c.env.filter((e: any) => 'value' in e).map((e: any) => [e.name, e.value]));
    expect(env.GATEWAY_CONFIG).toBe(`${mount.mountPath}/config.yaml`);
    expect(mount.readOnly).toBe(true);

    const dir = mkdtempSync(join(tmpdir(), 'deploy-config-'));
    try {
      writeFileSync(join(dir, 'config.yaml'), cm.data['config.yaml']);
      // The Secret's variables the config needs, as the pod has them (values made up here).
      const { config, warnings } = loadGatewayConfig({ GATEWAY_CONFIG: join(dir, 'config.yaml'), MONITORING_ADMIN_TOKEN: 'x'.repeat(32) }, REPO);
      expect(warnings).toEqual([]);
      expect(config.gateway.port).toBe(portNumber('grpc'));
      expect(config.monitoring).toMatchObject({ enabled: true, host: '0.0.0.0', port: portNumber('monitoring') });
      expect(config.gateway.max_connection_age_seconds).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('probes: gRPC health for start-up and readiness (BYOVA service), HTTP /health for liveness', () => {
    expect(c.startupProbe.grpc).toEqual({ port: portNumber('grpc') });
    expect(c.readinessProbe.grpc).toEqual({ port: portNumber('grpc'), service: BYOVA_SERVICE });
    expect(c.livenessProbe.httpGet.path).toBe('/health');
    expect(portNumber(c.livenessProbe.httpGet.port)).toBe(configOf(objs).monitoring.port);
  });

  it('stops cleanly: a preStop pause, then the drain, all within terminationGracePeriodSeconds', () => {
    const pause = c.lifecycle.preStop.sleep.seconds;
    expect(pause).toBeGreaterThanOrEqual(5); // endpoints and load balancers catch up before the drain refuses calls
    const drain = configOf(objs).gateway.shutdown_grace_seconds;
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(pause + drain);
    expect(configOf(objs).gateway.max_connection_age_grace_seconds).toBeLessThanOrEqual(drain);
    // The graces cover the longest turn (the config loads without warnings, see above); the manifest's comment
    // states the sum with the numbers in effect.
    const comment = /# preStop pause \((\d+)\) \+ the gateway's drain \(gateway\.shutdown_grace_seconds, (\d+)\) \+ (\d+) s to spare = (\d+)\./.exec(
      readFileSync(join(REPO, 'deploy/base/deployment.yaml'), 'utf8'),
    );
    expect(comment?.slice(1).map(Number)).toEqual([pause, drain, pod.spec.terminationGracePeriodSeconds - pause - drain, pod.spec.terminationGracePeriodSeconds]);
  });

  it('runs locked down: non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp; writable paths on emptyDir', () => {
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.spec.securityContext.runAsUser).toBeGreaterThan(0);
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.securityContext.capabilities.add).toBeUndefined();
    const emptyDirs = new Set(pod.spec.volumes.filter((v: any) => v.emptyDir).map((v: any) => v.name));
    const writable = c.volumeMounts.filter((m: any) => emptyDirs.has(m.name)).map((m: any) => m.mountPath);
    expect(writable.sort()).toEqual(['/tmp', '/var/lib/byova/recordings']);
    // No mount inside another (the kubelet's writes to a ConfigMap or Secret volume can drop a nested mount point).
    const paths: string[] = c.volumeMounts.map((m: any) => m.mountPath);
    for (const p of paths) expect(paths.filter((q) => q.startsWith(`${p}/`))).toEqual([]);
    for (const v of pod.spec.volumes.filter((x: any) => x.emptyDir)) expect(v.emptyDir.sizeLimit).toBeDefined();
    expect(c.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.resources.limits.memory).toBeDefined();
    expect(c.image).toMatch(/^byova-gateway:/);
  });

  it('holds no secret values: credentials come from Secret references only, and no Secret is rendered', () => {
    expect(objs.filter((o) => o.kind === 'Secret')).toEqual([]);
    const secretish = /TOKEN|SECRET|PASSWORD|KEY|AWS_|WEBEX_/;
    const credentials = c.env.filter((e: any) => secretish.test(e.name));
    expect(credentials.map((e: any) => e.name)).toEqual(
      expect.arrayContaining(['MONITORING_ADMIN_TOKEN', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'WEBEX_BYODS_CLIENT_SECRET', 'WEBEX_BYODS_REFRESH_TOKEN']),
    );
    for (const e of credentials) {
      expect(e.value).toBeUndefined();
      expect(e.valueFrom.secretKeyRef).toEqual(expect.objectContaining({ name: 'byova-gateway-secrets', key: e.name }));
    }
    expect(c.envFrom).toBeUndefined();
    // The config names variables, never values.
    const text = one(objs, 'ConfigMap').data['config.yaml'];
    expect(text).not.toMatch(/sha256:|client_secret:|password:|refresh_token:/);
  });

  it('Services select the pods; gRPC carries an appProtocol', () => {
    const podLabels = pod.metadata.labels;
    const services = objs.filter((o) => o.kind === 'Service');
    for (const s of services) {
      expect(podLabels).toMatchObject(s.spec.selector);
      for (const p of s.spec.ports) expect(c.ports.map((x: any) => x.name)).toContain(p.targetPort);
    }
    const grpc = one(objs, 'Service', 'byova-gateway').spec.ports;
    expect(grpc).toHaveLength(1); // the monitoring port has its own Service: exposing gRPC never exposes it
    expect(grpc[0]).toMatchObject({ targetPort: 'grpc', appProtocol: expect.stringMatching(/^(kubernetes\.io\/h2c|grpc)$/) });
  });

  it('the HPA scales the Deployment on CPU and on active calls per pod; the PDB selects its pods', () => {
    const hpa = one(objs, 'HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: deployment.apiVersion, kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.metrics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Resource', resource: expect.objectContaining({ name: 'cpu' }) }),
        expect.objectContaining({ type: 'Pods', pods: expect.objectContaining({ metric: { name: 'byova_active_conversations' } }) }),
      ]),
    );
    // The gauge the HPA asks for is one the gateway exports.
    expect(readFileSync(join(REPO, 'apps/gateway/src/monitoring/metrics/metrics.service.ts'), 'utf8')).toContain("'byova_active_conversations'");
    const pdb = one(objs, 'PodDisruptionBudget');
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(pod.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(pdb.spec.maxUnavailable ?? 0).toBeLessThan(hpa.spec.minReplicas);
  });
});

describe('overlay tls', () => {
  const objs = rendered.tls;
  const c = container(objs);
  const pod = one(objs, 'Deployment').spec.template.spec;

  it('serves the certificate from a kubernetes.io/tls Secret, mounted whole (renewals reach the gateway)', () => {
    const tls = configOf(objs).gateway.tls;
    const volume = pod.volumes.find((v: any) => v.secret?.secretName === 'byova-gateway-tls');
    expect(volume.secret.items).toBeUndefined();
    const mount = c.volumeMounts.find((m: any) => m.name === volume.name);
    expect(mount).toMatchObject({ readOnly: true });
    expect(mount.subPath).toBeUndefined();
    // The key names of a kubernetes.io/tls Secret (what cert-manager writes).
    expect(tls).toMatchObject({ cert_file: `${mount.mountPath}/tls.crt`, key_file: `${mount.mountPath}/tls.key` });
  });

  it('its config is the base config plus gateway.tls, and the Service listens on 443', () => {
    const { tls, ...gateway } = configOf(objs).gateway;
    expect(tls).toBeDefined();
    expect({ ...configOf(objs), gateway }).toEqual(configOf(rendered.plain));
    const svc = one(objs, 'Service', 'byova-gateway').spec;
    expect(svc.ports).toEqual([expect.objectContaining({ port: 443, targetPort: 'grpc' })]);
  });
});

it('the schema check is live: a wrong type, a missing required field or an unknown field is refused', () => {
  const d = structuredClone(one(rendered.plain, 'Deployment'));
  d.spec.template.spec.containers[0].readinessProbe.grpc.port = 'grpc'; // grpc probes take a number only
  expect(() => model(d).validate()).toThrow(/grpc\/port must be integer/);
  const h = structuredClone(one(rendered.plain, 'HorizontalPodAutoscaler'));
  delete h.spec.maxReplicas;
  expect(() => model(h).validate()).toThrow(/maxReplicas/);
  const typo = structuredClone(one(rendered.plain, 'Deployment'));
  typo.spec.template.spec.containers[0].lifecycle.preStop.slep = typo.spec.template.spec.containers[0].lifecycle.preStop.sleep;
  delete typo.spec.template.spec.containers[0].lifecycle.preStop.sleep;
  expect(unknownFields([typo])).toEqual([expect.stringMatching(/known properties, and '"slep"' does not exist in type/)]);
});
