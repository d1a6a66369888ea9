import { join } from 'node:path';
import { decodeToPcm16, encodeFromPcm16, Pcm16StreamResampler, resamplePcm16 } from '@app/audio';
import type { Logger, RecordingSettings } from '@app/config';
import type { AgentPrompt } from '@app/connector-sdk';
import { recordingFileName, type RecordingSide } from './file-name';
import { Track } from './track';
import { WavPartWriter } from './wav-part-writer';

/** Periodic writes stay this far behind the clock, so caller frames that arrive late still land in memory. */
export const WRITE_LAG_MS = 1000;

export interface CallRecordingOptions {
  settings: RecordingSettings;
  /** Absolute folder of the files. */
  folder: string;
  conversationId: string;
  agentId: string;
  /** Epoch ms of the conversation's start: sample 0 of both sides. */
  startedAt: number;
  /** Rate of the files: the call's. */
  sampleRate: number;
  log: Logger;
}

/** Caller audio of one audio RPC, pushed frame by frame. */
export class CallerInput {
  /** Caller audio at another rate than the call's (an RPC at 16 kHz in an 8 kHz call): converted as it streams. */
  private readonly resampler?: Pcm16StreamResampler;

  constructor(
    private readonly rec: CallRecording,
    private readonly track: Track,
    private readonly fromRate: number,
    private readonly toRate: number,
    /** PCI turn: only the length is kept, as silence. */
    private readonly sensitive: boolean,
  ) {
    if (fromRate !== toRate && !sensitive) this.resampler = new Pcm16StreamResampler(fromRate, toRate);
  }

  /** Hot path. `pcm` may be reused by the caller after this returns: it is copied. */
  push(pcm: Int16Array): void {
    if (this.rec.stopped) return;
    const t = this.track;
    // Frames later than the writes: continue where the file is, rather than lose them.
    if (t.end < t.committed) t.end = t.committed;
    if (this.sensitive) {
      t.end += this.fromRate === this.toRate ? pcm.length : Math.floor((pcm.length * this.toRate) / this.fromRate);
      return;
    }
    t.append(this.resampler ? this.resampler.push(pcm) : pcm);
  }

  /** The RPC's audio is over: the resampler's last few milliseconds go in after the rest. */
  finish(): void {
    if (this.resampler === undefined || this.rec.stopped) return;
    const tail = this.resampler.end();
    if (tail.length === 0) return;
    if (this.track.end < this.track.committed) this.track.end = this.track.committed;
    this.track.append(tail);
  }
}

/**
 * One call's recording: caller and agent audio on one timeline from the conversation start (wall clock),
 * silence in between, written in blocks as 16-bit PCM WAV (split per side or stereo). Writes run one at a
 * time on a promise chain; a failure is logged once and ends the recording, never the call.
 */
export class CallRecording {
  /** No more audio is taken: closing, closed or failed. */
  stopped = false;
  private failed = false;
  private readonly caller: Track;
  private readonly agent: Track;
  private readonly writers: Partial<Record<RecordingSide, WavPartWriter>> = {};
  private chain: Promise<void> = Promise.resolve();
  private writesQueued = 0;
  private closed?: Promise<string[]>;
  /** The latest audio RPC's input (finished when the next one starts or the recording closes). */
  private input?: CallerInput;

  constructor(private readonly o: CallRecordingOptions) {
    this.caller = new Track(o.sampleRate);
    this.agent = new Track(o.sampleRate);
    const sides: RecordingSide[] = o.settings.layout === 'stereo' ? ['mixed'] : ['caller', 'agent'];
    for (const side of sides) {
      const fields = { conversationId: o.conversationId, agentId: o.agentId, startedAt: o.startedAt, side };
      this.writers[side] = new WavPartWriter({
        channels: side === 'mixed' ? 2 : 1,
        sampleRate: o.sampleRate,
        maxFileBytes: o.settings.max_file_bytes,
        pathOf: (part) => join(o.folder, recordingFileName(o.settings.file_pattern, fields, part)),
      });
    }
  }

  get conversationId(): string {
    return this.o.conversationId;
  }

  /** Settles when the writes queued so far are done (a failed recording's close() does not wait for them). */
  get writing(): Promise<void> {
    return this.chain;
  }

  /** Files written so far (all of them once close() resolved). */
  get files(): string[] {
    return Object.values(this.writers).flatMap((w) => w.files);
  }

  /** Sample position of a wall-clock time. */
  position(epochMs: number): number {
    return Math.max(0, Math.round(((epochMs - this.o.startedAt) * this.o.sampleRate) / 1000));
  }

  /** An audio RPC begins now; its frames follow one another from here (or from the previous RPC's end). */
  callerInput(sampleRate: number, sensitive: boolean, now = Date.now()): CallerInput | undefined {
    if (this.stopped) return undefined;
    this.input?.finish();
    const t = this.caller;
    t.end = Math.max(t.end, t.committed, this.position(now));
    this.input = new CallerInput(this, t, sampleRate, this.o.sampleRate, sensitive);
    return this.input;
  }

  /** An answer was sent now: its prompts play one after another, replacing any still playing (barge-in). */
  agentPrompts(prompts: readonly AgentPrompt[], now = Date.now()): void {
    if (this.stopped) return;
    const t = this.agent;
    let at = Math.max(this.position(now), t.committed);
    t.cutFrom(at);
    t.end = Math.min(t.end, at);
    try {
      for (const p of prompts) {
        const a = p.audio;
        if (a === undefined || a.data.length === 0) continue;
        let pcm = decodeToPcm16(a.data, a.format.encoding);
        if (a.format.sampleRate !== this.o.sampleRate) pcm = resamplePcm16(pcm, a.format.sampleRate, this.o.sampleRate);
        t.add({ at, data: pcm, len: pcm.length, open: false });
        at += pcm.length;
        t.end = at;
      }
    } catch (err) {
      // A prompt in a format the recording cannot read (plugin connector): the call must not notice.
      void this.fail(err);
    }
  }

  /** Writes what can no longer change; skipped while an earlier write is still going. */
  flush(now = Date.now()): Promise<void> {
    if (this.stopped) return this.chain;
    if (this.writesQueued > 0) {
      const waiting = (this.position(now) - this.caller.committed) / this.o.sampleRate;
      if (waiting > this.o.settings.max_pending_seconds) {
        void this.fail(new Error(`no write completed while ${Math.round(waiting)} s of audio queued up (max_pending_seconds)`));
      }
      return this.chain;
    }
    return this.write(Math.min(this.position(now - WRITE_LAG_MS), this.end()));
  }

  /** Writes the rest (up to the end of the last audio, so both sides have the same length) and closes the files. */
  close(): Promise<string[]> {
    if (this.closed) return this.closed;
    this.input?.finish();
    const last = this.failed ? Promise.resolve() : this.write(this.end());
    this.stopped = true;
    this.closed = last
      .then(() => this.closeWriters())
      .catch((err) => this.fail(err))
      .then(() => this.files);
    return this.closed;
  }

  private end(): number {
    return Math.max(this.caller.end, this.agent.end);
  }

  private write(upTo: number): Promise<void> {
    const callerPcm = this.caller.take(upTo);
    const agentPcm = this.agent.take(upTo);
    if (callerPcm.length === 0) return this.chain;
    this.writesQueued++;
    this.chain = this.chain
      .then(async () => {
        if (this.failed) return;
        const w = this.writers;
        if (w.mixed) await w.mixed.write(encodeFromPcm16(interleave(callerPcm, agentPcm), 'linear16'));
        else {
          await w.caller!.write(encodeFromPcm16(callerPcm, 'linear16'));
          await w.agent!.write(encodeFromPcm16(agentPcm, 'linear16'));
        }
      })
      .catch((err) => this.fail(err))
      .finally(() => this.writesQueued--);
    return this.chain;
  }

  private async closeWriters(): Promise<void> {
    for (const w of Object.values(this.writers)) await w.close();
  }

  private async fail(err: unknown): Promise<void> {
    if (this.failed) return;
    this.failed = this.stopped = true;
    this.caller.clear();
    this.agent.clear();
    this.o.log.error({ err, folder: this.o.folder }, 'call recording failed: the call goes on unrecorded');
    await this.closeWriters().catch(() => undefined);
  }
}

/** Stereo frames: caller left, agent right. */
export function interleave(left: Int16Array, right: Int16Array): Int16Array {
  const out = new Int16Array(left.length * 2);
  for (let i = 0, j = 0; i < left.length; i++, j += 2) {
    out[j] = left[i];
    out[j + 1] = right[i];
  }
  return out;
}
