// Chunk section (bench/chunks.ts): each CHUNK's audio starts with the time its agent emitted it, a float64 LE
// epoch ms (performance.timeOrigin + performance.now(): the same clock in every process on the machine).
// Server children install a hook on the response serializer to time the in-process part as well.
import { PerformanceObserver } from 'node:perf_hooks';
import { VoiceVirtualAgentService, type VoiceVAResponse } from '@app/proto';

export const STAMP_BYTES = 8;
export const CHUNK = 2; // VoiceVAResponse_ResponseType.CHUNK

export const epochNow = (): number => performance.timeOrigin + performance.now();

export function writeStamp(data: Uint8Array, at = epochNow()): void {
  new DataView(data.buffer, data.byteOffset, STAMP_BYTES).setFloat64(0, at, true);
}

/** The emit time a CHUNK carries, or undefined if it is not one or too short. */
export function readStamp(r: VoiceVAResponse): number | undefined {
  if (r.responseType !== CHUNK) return undefined;
  const a = r.prompts[0]?.audioContent;
  if (!a || a.length < STAMP_BYTES) return undefined;
  return new DataView(a.buffer, a.byteOffset, STAMP_BYTES).getFloat64(0, true);
}

/**
 * In a server child, before the server starts: wraps processCallerInput's response serializer (grpc-js
 * serializes a message and hands it to its HTTP/2 stream in one synchronous step) to record, per CHUNK, its
 * emit stamp, the time it was serialized, and the time it was flushed: Node's HTTP/2 session writes pending
 * frames to the socket from a native immediate, which runs at the start of the loop's check phase, just before
 * JS setImmediate callbacks, so an immediate queued here runs right after the write (one per loop turn, for all
 * the chunks of that turn). Bench children only: the production path is untouched. The parent collects the
 * times over IPC ('chunk-times'), and asks for this process's clock ('clock') to check that the stamps compare
 * across processes.
 */
export function installServerChunkTimes(): void {
  const def = VoiceVirtualAgentService.processCallerInput as { responseSerialize: (r: VoiceVAResponse) => Buffer };
  const serialize = def.responseSerialize;
  let stamps: number[] = [];
  let serialized: number[] = [];
  let flushed: number[] = [];
  let flushPending = false;
  // GC pauses (epoch ms start, end): the parent checks which slow pieces waited on one.
  let gcs: number[] = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push(performance.timeOrigin + e.startTime, performance.timeOrigin + e.startTime + e.duration);
  }).observe({ entryTypes: ['gc'] });
  const onFlush = () => {
    flushPending = false;
    const at = epochNow();
    while (flushed.length < stamps.length) flushed.push(at);
  };
  def.responseSerialize = (r: VoiceVAResponse) => {
    const out = serialize(r);
    const stamp = readStamp(r);
    if (stamp !== undefined) {
      serialized.push(epochNow());
      stamps.push(stamp);
      if (!flushPending) {
        flushPending = true;
        setImmediate(onFlush);
      }
    }
    return out;
  };
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'clock') process.send?.({ type: 'clock-reply', at: epochNow() });
    if (m?.type === 'chunk-times') {
      const n = flushed.length; // chunks still waiting for their flush stay for the next collection
      process.send?.({ type: 'chunk-times-reply', stamps: stamps.slice(0, n), serialized: serialized.slice(0, n), flushed, gcs });
      gcs = [];
      stamps = stamps.slice(n);
      serialized = serialized.slice(n);
      flushed = [];
    }
  });
}
