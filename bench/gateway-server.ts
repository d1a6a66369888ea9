// Bench child: the real gateway (NestJS + engine + local_audio connector) on a loopback port.
// With mode `chunks`: the chunked_reply test plugin instead, in CHUNK reply mode, stamping its pieces (bench/chunks.ts).
// Usage: node -r @swc-node/register bench/gateway-server.ts <port> [end_silence_ms] [chunks]
import 'reflect-metadata';
import { resolve } from 'node:path';
import { buildGatewayConfig, createLogger, type LoadedConfig } from '@app/config';
import { startGateway } from '../apps/gateway/src/bootstrap';
import { installServerChunkTimes } from './chunk-stamps';
import { serveChildStats } from './child-stats';
import { CHUNK_PLAN } from './chunk-plan';

const REPO = resolve(__dirname, '..');

async function main(): Promise<void> {
  const port = Number(process.argv[2] ?? 0);
  const endSilenceMs = Number(process.argv[3] ?? 600);
  const chunks = process.argv[4] === 'chunks';
  if (!Number.isInteger(port) || port <= 0) throw new Error(`bad port ${process.argv[2]}`);
  if (chunks) installServerChunkTimes();
  const config = buildGatewayConfig({
    gateway: { host: '127.0.0.1', port },
    // High enough that the limit never decides a result.
    sessions: { max_sessions: 100_000 },
    // Same level gate as the bare server; the load's two-tone bursts are not speech to a neural VAD.
    voice_activity_detection: { engine: 'energy', end_silence_ms: endSilenceMs },
    connectors: chunks
      ? {
          chunked: {
            module: './test/fixtures/chunked-reply-connector',
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
  });
  const loaded: LoadedConfig = { config, file: '(bench)', baseDir: REPO, warnings: [] };
  const gw = await startGateway(loaded, createLogger('silent'));
  serveChildStats();
  process.send?.({ type: 'ready', address: gw.address });
  const stop = () =>
    void gw.shutdown(500).finally(() => {
      process.exit(0);
    });
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // The parent going away (crash, Ctrl-C) must not leave the server running.
  process.once('disconnect', stop);
}

main().catch((e) => {
  process.stderr.write(`gateway-server: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
