// Bench child: the protocol-level fake Lex V2 (test/support/fake-lex) with a fixed service delay, in its own
// process so its CPU shares neither the gateway's nor the load generator's event loop (bench/lex.ts).
// Usage: node -r @swc-node/register bench/lex-fake.ts <service_delay_ms>
import { setMaxListeners } from 'node:events';
import { FakeLexServer } from '../test/support/fake-lex';

/** What the parent needs per request: times are this process's epoch clock, used only as differences. */
export interface LexRecord {
  op: string;
  sessionId?: string;
  text?: string;
  audioBytes: number;
  at: number;
  serviceMs: number;
  respondedAt?: number;
  status?: number;
}

async function main(): Promise<void> {
  const delayMs = Number(process.argv[2] ?? 30);
  // Each delayed request listens on the fake's shared stop signal: 100 calls are more than the warning's 10.
  setMaxListeners(0);
  const lex = await FakeLexServer.start({});
  lex.delay('RecognizeUtterance', delayMs);
  lex.delay('RecognizeText', delayMs);
  process.on('message', (m: { type?: string }) => {
    if (m?.type !== 'take') return;
    // Hand over and forget, so a long run does not keep every request's audio.
    const taken = lex.requests.splice(0);
    const records: LexRecord[] = taken.map((r) => ({
      op: r.op,
      sessionId: r.sessionId,
      text: r.text,
      audioBytes: r.audio?.length ?? 0,
      at: r.at,
      serviceMs: r.serviceMs,
      respondedAt: r.respondedAt,
      status: r.status,
    }));
    process.send?.({ type: 'records', records });
  });
  process.send?.({ type: 'ready', url: lex.url });
  const stop = () => void lex.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
}

main().catch((e) => {
  process.stderr.write(`lex-fake: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
