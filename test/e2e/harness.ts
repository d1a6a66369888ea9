import { resolve } from 'node:path';
import { status } from '@grpc/grpc-js';
import { buildGatewayConfig, createLogger, type LoadedConfig } from '@app/config';
import { ByovaCaller, type ByovaCallerOptions, freePort, type TurnResult } from '@app/simulator';

export { freePort };
import type { ConversationStateStore } from '@app/engine';
import { startGateway, type RunningGateway, type StartOptions } from '../../apps/gateway/src/bootstrap';

export const REPO = resolve(__dirname, '../..');
export const LOCAL_AGENT = 'Local Audio: Local Playback';
export const SCRIPTED_MODULE = './test/fixtures/scripted-connector';

type Raw = Record<string, any>;

export function localConnector(defaults: Raw = {}, config: Raw = {}): Raw {
  return { type: 'local_audio', config: { audio_base_path: 'audio', ...config }, defaults };
}

export const CHUNKED_MODULE = './test/fixtures/chunked-reply-connector';
export const SELF_ENDPOINTING_MODULE = './test/fixtures/self-endpointing-connector';

/** Streaming test agent `Chunked: <name>` (options in its file); loaded as a plugin by `module:` alone. */
export function chunkedConnector(config: Raw = {}, defaults: Raw = {}): Raw {
  return { module: CHUNKED_MODULE, config, defaults };
}

/** Streaming test agent `Self-endpointing: <name>` that endpoints the caller itself. */
export function selfEndpointingConnector(config: Raw = {}, defaults: Raw = {}): Raw {
  return { module: SELF_ENDPOINTING_MODULE, config, defaults };
}

export function scriptedConnector(config: Raw = {}, defaults: Raw = {}): Raw {
  return { module: SCRIPTED_MODULE, type: 'scripted', config, defaults };
}

export interface TestGateway {
  gw: RunningGateway;
  target: string;
  caller(opts?: Partial<ByovaCallerOptions>): ByovaCaller;
  stop(): Promise<void>;
}

/** Starts the real gateway (NestJS: gRPC, and the monitoring HTTP app in its worker thread) on loopback ports with the given config sections. */
/** `logs`: collect the gateway's JSON log lines (at debug level) instead of discarding them. `stateStore`: share one between gateways. */
/** `httpModules`: extra modules of the monitoring HTTP application (its own thread), e.g. a controller that exists only for a test. */
export async function startTestGateway(
  raw: Raw = {},
  opts: { logs?: Record<string, unknown>[]; stateStore?: ConversationStateStore; httpModules?: StartOptions['httpModules'] } = {},
): Promise<TestGateway> {
  const port = await freePort();
  const config = buildGatewayConfig({
    ...raw,
    gateway: { host: '127.0.0.1', ...(raw.gateway ?? {}), port },
    // Monitoring HTTP on a port of the system's choosing (gw.httpAddress), so parallel test files never clash.
    monitoring: { host: '127.0.0.1', port: 0, ...raw.monitoring },
    voice_activity_detection: { engine: 'energy', ...raw.voice_activity_detection },
    connectors: raw.connectors ?? { local: localConnector() },
  });
  const loaded: LoadedConfig = { config, file: '(test)', baseDir: REPO, warnings: [] };
  const logs = opts.logs;
  const logger = logs
    ? createLogger('debug', { write: (line: string) => void logs.push(JSON.parse(line)) })
    : createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const gw = await startGateway(loaded, logger, { stateStore: opts.stateStore, httpModules: opts.httpModules });
  const target = `127.0.0.1:${port}`;
  const callers: ByovaCaller[] = [];
  return {
    gw,
    target,
    caller(opts = {}) {
      const c = new ByovaCaller({ target, ...opts });
      callers.push(c);
      return c;
    },
    async stop() {
      for (const c of callers) c.close();
      await gw.shutdown(1000);
    },
  };
}

/** µ-law/A-law/L16 test signal: `speechMs` of a loud two-tone burst, then `silenceMs` of silence. */
export function speechBurst(speechMs: number, silenceMs: number, sampleRate = 8000, amplitude = 8000): Int16Array {
  const n = Math.round(((speechMs + silenceMs) * sampleRate) / 1000);
  const s = Math.round((speechMs * sampleRate) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < s; i++) out[i] = Math.round(amplitude * 0.5 * (Math.sin((2 * Math.PI * 440 * i) / sampleRate) + Math.sin((2 * Math.PI * 1230 * i) / sampleRate)));
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `fn` is true or the time is up. */
export async function eventually(fn: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

/**
 * Asserts the turn's RPC completed with status OK (and, for DTMF, its START_OF_DTMF RPC too), so checks on its
 * responses or timeline cannot pass on a failed RPC. The diff shows the status details. Returns the turn.
 */
export function ok<T extends TurnResult & { startOfDtmf?: TurnResult }>(r: T): T {
  if (r.startOfDtmf) expect({ turn: r.startOfDtmf.label, status: r.startOfDtmf.status }).toMatchObject({ status: { code: status.OK } });
  expect({ turn: r.label, status: r.status }).toMatchObject({ status: { code: status.OK } });
  return r;
}
