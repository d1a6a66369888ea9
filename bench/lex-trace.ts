// Preloaded into the gateway child by `npm run bench -- --lex --lex-trace` (never by the product): stamps each Lex
// request's stages on the epoch clock the bench's processes share, and writes them to BENCH_LEX_TRACE at exit.
// bench/lex.ts lines them up with the caller's and the fake's times (bench/README.md, "Lex section").
import { writeFileSync } from 'node:fs';
import { LexRuntimeV2Client } from '@aws-sdk/client-lex-runtime-v2';
import { SdkLexRuntime } from '../libs/connectors/src/aws-lex/runtime/sdk-lex-runtime';
import type { RecognizeRequest } from '../libs/connectors/src/aws-lex/runtime/lex-runtime';
import { epochNow } from './chunk-stamps';

export interface LexTraceRecord {
  sessionId: string;
  /** The connector asked for the request. */
  call: number;
  /** The SDK resolved send(): Lex's response headers were in. */
  sent?: number;
  /** Lex's audio body fully read. */
  body?: number;
  /** Fields decoded and the audio converted: the connector has Lex's answer. */
  done?: number;
}

const file = process.env.BENCH_LEX_TRACE;
if (file) {
  const records: LexTraceRecord[] = [];
  // A session has one request in flight at a time: its record is found by the command's session id.
  const current = new Map<string, LexTraceRecord>();
  const recognize = SdkLexRuntime.prototype.recognize;
  SdkLexRuntime.prototype.recognize = async function (this: SdkLexRuntime, req: RecognizeRequest, signal: AbortSignal) {
    const rec: LexTraceRecord = { sessionId: req.sessionId, call: epochNow() };
    records.push(rec);
    current.set(req.sessionId, rec);
    const out = await recognize.call(this, req, signal);
    rec.done = epochNow();
    if (current.get(req.sessionId) === rec) current.delete(req.sessionId);
    return out;
  };
  const send = LexRuntimeV2Client.prototype.send as (...a: unknown[]) => Promise<unknown>;
  (LexRuntimeV2Client.prototype as { send: unknown }).send = async function (this: unknown, ...args: unknown[]) {
    const sessionId = (args[0] as { input?: { sessionId?: string } }).input?.sessionId;
    const rec = sessionId === undefined ? undefined : current.get(sessionId);
    const out = (await send.apply(this, args)) as { audioStream?: { transformToByteArray(): Promise<Uint8Array> } };
    if (rec) {
      rec.sent = epochNow();
      const stream = out.audioStream;
      if (stream) {
        const read = stream.transformToByteArray.bind(stream);
        stream.transformToByteArray = async () => {
          const bytes = await read();
          rec.body = epochNow();
          return bytes;
        };
      }
    }
    return out;
  };
  process.on('exit', () => writeFileSync(file, JSON.stringify(records)));
}
