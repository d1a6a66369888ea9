// Bench child: the real gateway (NestJS + engine + local_audio connector) on a loopback port.
// With mode `chunks`: the chunked_reply test plugin instead, in CHUNK reply mode, stamping its pieces (bench/chunks.ts).
// With mode `lex`: the aws_lex_connector pointed at the fake Lex at <url>, one explicit bot (bench/lex.ts).
// Usage: node -r @swc-node/register bench/gateway-server.ts <port> [end_silence_ms] [chunks | lex <url>]
// (the benches run its compiled form from .bench-build: bench/compiled.ts)
// BENCH_JWT: a jwt_validation section as JSON (bench/jwt.ts). BENCH_SESSIONS: sessions keys as JSON (bench/soak).
// BENCH_GATEWAY: more gateway keys as JSON (the soak's short connection age, bench/soak).
// BENCH_MONITORING=off: monitoring disabled (no HTTP server, nothing observes the engine); default on, as shipped,
// on a loopback port of the system's choosing (its address goes to the parent in the ready message).
// BENCH_HTTP_STANDIN=1 with monitoring off (diagnostic, bench/http-standin.ts): a stand-in HTTP server that does no
// monitoring work answers the monitoring side's traffic, its address reported as the monitoring one; =worker: the
// stand-in in a worker thread. Never with monitoring on, so an exported BENCH_HTTP_STANDIN never reaches the
// gateways of other sections, which run with it on.
// BENCH_GATEWAY_DIRECT=1 (diagnostic): BYOVA is served on <port> by a plain grpc-js server driving the gateway's
// engine directly, without NestJS and RxJS (the Nest server listens on another port, unused), to tell their
// share of a cost from the engine's.
import 'reflect-metadata';
import { resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { VoiceVirtualAgentService, type VoiceVARequest, type VoiceVAResponse } from '@app/proto';
import { freePort } from '@app/simulator';
import type { ConversationEngine } from '@app/engine';
import { buildGatewayConfig, createLogger, type LoadedConfig } from '@app/config';
import { startGateway } from '../apps/gateway/src/bootstrap';
import { installServerChunkTimes } from './chunk-stamps';
import { serveChildStats } from './child-stats';
import { CHUNK_PLAN } from './chunk-plan';
import { startHttpStandin } from './http-standin';

// The repository (the parent forks its children there): this file may run from .bench-build (bench/compiled.ts).
const REPO = process.cwd();

async function main(): Promise<void> {
  const port = Number(process.argv[2] ?? 0);
  const endSilenceMs = Number(process.argv[3] ?? 600);
  const chunks = process.argv[4] === 'chunks';
  const lexUrl = process.argv[4] === 'lex' ? process.argv[5] : undefined;
  if (process.argv[4] === 'lex' && !lexUrl) throw new Error('lex mode needs the fake Lex URL');
  if (!Number.isInteger(port) || port <= 0) throw new Error(`bad port ${process.argv[2]}`);
  if (chunks) installServerChunkTimes();
  const direct = process.env.BENCH_GATEWAY_DIRECT === '1';
  const config = buildGatewayConfig({
    gateway: { host: '127.0.0.1', port: direct ? await freePort() : port, ...(process.env.BENCH_GATEWAY ? JSON.parse(process.env.BENCH_GATEWAY) : {}) },
    // High enough that the limit never decides a result.
    // BENCH_SESSIONS: more sessions keys as JSON (the soak's short idle timeout and sweep, bench/soak).
    sessions: { max_sessions: 100_000, ...(process.env.BENCH_SESSIONS ? JSON.parse(process.env.BENCH_SESSIONS) : {}) },
    // Same level gate as the bare server; the load's two-tone bursts are not speech to a neural VAD.
    voice_activity_detection: { engine: 'energy', end_silence_ms: endSilenceMs },
    // Monitoring HTTP on a free port: two gateways may run at once (bench/jwt.ts, bench/monitoring.ts).
    monitoring: process.env.BENCH_MONITORING === 'off' ? { enabled: false } : { enabled: true, host: '127.0.0.1', port: 0 },
    connectors: lexUrl
      ? {
          // Explicit bot: no discovery. Credentials come from this child's env (dummy ones, set by bench/lex.ts).
          lex: {
            type: 'aws_lex_connector',
            config: {
              region_name: 'us-east-1',
              endpoint_url: lexUrl,
              models_endpoint_url: lexUrl,
              bots: [{ bot_id: 'BANKBOT001', alias_id: 'LIVEALIAS1', agent_name: 'Banking' }],
              apology_audio_file: 'audio/error.wav',
            },
            defaults: { speech: { no_input_timeout_ms: 0 } },
          },
        }
      : chunks
      ? {
          chunked: {
            // Beside this file's tree: the sources, or their build in .bench-build.
            module: resolve(__dirname, '../test/fixtures/chunked-reply-connector'),
            config: {
              chunks: CHUNK_PLAN.countMin,
              chunks_max: CHUNK_PLAN.countMax,
              chunk_ms: CHUNK_PLAN.chunkMsMin,
              chunk_ms_max: CHUNK_PLAN.chunkMsMax,
              first_delay_ms: CHUNK_PLAN.delayMsMin,
              delay_ms: CHUNK_PLAN.delayMsMin,
              delay_ms_max: CHUNK_PLAN.delayMsMax,
              stamp_emit_time: true,
            },
            defaults: { reply_mode: 'chunk' },
          },
        }
      : { local: { type: 'local_audio', config: { audio_base_path: 'audio' } } },
    // BENCH_JWT: a jwt_validation section (bench/jwt.ts).
    ...(process.env.BENCH_JWT ? { jwt_validation: JSON.parse(process.env.BENCH_JWT) } : {}),
  });
  const loaded: LoadedConfig = { config, file: '(bench)', baseDir: REPO, warnings: [] };
  const gw = await startGateway(loaded, createLogger('silent'));
  if (direct) await serveDirect(gw.engine, port);
  serveChildStats();
  const standinMode = process.env.BENCH_HTTP_STANDIN;
  const off = process.env.BENCH_MONITORING === 'off';
  const standin = off && (standinMode === '1' || standinMode === 'worker') ? await startHttpStandin(standinMode === 'worker') : undefined;
  process.send?.({ type: 'ready', address: gw.address, httpAddress: standin ?? gw.httpAddress });
  const stop = () =>
    void gw.shutdown(500).finally(() => {
      process.exit(0);
    });
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // The parent going away (crash, Ctrl-C) must not leave the server running.
  process.once('disconnect', stop);
}

/** The engine behind a bare grpc-js handler: what the NestJS controller does, without Observables. */
function serveDirect(engine: ConversationEngine, port: number): Promise<void> {
  const server = new grpc.Server();
  server.addService(VoiceVirtualAgentService as unknown as grpc.ServiceDefinition, {
    processCallerInput(call: grpc.ServerDuplexStream<VoiceVARequest, VoiceVAResponse>) {
      let settled = false;
      const turn = engine.openTurn({
        send: (r) => void (!settled && call.write(r)),
        complete: () => {
          settled = true;
          call.end();
        },
        fail: (e) => {
          settled = true;
          call.emit('error', { code: grpc.status.INTERNAL, details: e.message });
        },
      });
      call.on('data', (r: VoiceVARequest) => turn.request(r));
      call.on('end', () => queueMicrotask(() => turn.halfClose()));
      call.on('cancelled', () => turn.cancel());
      call.on('error', () => turn.cancel());
    },
    listVirtualAgents: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { virtualAgents: [] }),
  });
  return new Promise((res, rej) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? rej(err) : res())));
}

main().catch((e) => {
  process.stderr.write(`gateway-server: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
