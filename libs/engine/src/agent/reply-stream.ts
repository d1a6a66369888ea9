import { type AudioFormat, decodeToPcm16, encodeFromPcm16, resamplePcm16 } from '@app/audio';
import type { AgentPrompt, AgentReply, PromptAudio } from '@app/connector-sdk';
import { prompt as protoPrompt, voiceVAResponse, VoiceVAResponse, VoiceVAResponse_ResponseType as RT } from '@app/proto';
import { type ResolvedInput, resolveInput } from '../next-input';
import type { PromptSummary } from '../observe/engine-events';
import { buildReplyResponses, CHUNK_MIN_BYTES, promptPlayback, type ReplyMode, splitChunks } from '../reply-builder';

/** Audio in the call's format; converted once when an agent hands another one. */
export function toCallFormat(audio: PromptAudio, call: AudioFormat): Uint8Array {
  const f = audio.format;
  if (f.encoding === call.encoding && f.sampleRate === call.sampleRate) return audio.data;
  let pcm = decodeToPcm16(audio.data, f.encoding);
  if (f.sampleRate !== call.sampleRate) pcm = resamplePcm16(pcm, f.sampleRate, call.sampleRate);
  return encodeFromPcm16(pcm, call.encoding);
}

/** A finished reply as the engine must remember it. */
export interface SentReply {
  reply: AgentReply;
  input: ResolvedInput;
  totalMs: number;
  noBargeInMs: number;
  /** Epoch ms the first audio of the reply left. */
  startedAt: number;
  /** Each prompt as played (text, length, barge-in), for observers. */
  prompts: PromptSummary[];
}

interface StreamedPrompt {
  text?: string;
  bargeIn: boolean;
  /** Pieces too small to send alone (CHUNK needs 100 bytes). */
  pending?: Uint8Array;
  /** Kept in WAV mode (the prompt goes out whole) and when the call is recorded. */
  pieces?: Uint8Array[];
  ms: number;
  textSent: boolean;
}

const msOf = (bytes: number, f: AudioFormat) => (bytes * 1000) / (f.sampleRate * (f.encoding === 'linear16' ? 2 : 1));

/**
 * Turns one reply's outputs into responses: in CHUNK mode audio goes out as it arrives, in WAV mode the
 * prompts go out whole in the FINAL. Call `finish` once with how the reply ends.
 */
export class ReplyStream {
  /** What the FINAL carries: every prompt in WAV mode, text-only ones in CHUNK mode. */
  private readonly finalPrompts: AgentPrompt[] = [];
  /** Every prompt with its audio in the call's format, for the recording (only when recorded). */
  private readonly recorded: AgentPrompt[] | undefined;
  /** Playback length and barge-in of each prompt, in order. */
  private readonly segments: Array<{ ms: number; bargeIn: boolean | undefined; text?: string }> = [];
  private current?: StreamedPrompt;
  private startedAt = 0;
  private chunkSent = false;

  constructor(
    private readonly mode: ReplyMode,
    private readonly format: AudioFormat,
    /** The agent's configured input: a reply's `next` is laid over it. */
    private readonly base: ResolvedInput,
    /** What the last reply asked for: kept by a reply that says nothing (and by the apology). */
    private readonly asked: ResolvedInput,
    keepAudio: boolean,
    private readonly send: (r: VoiceVAResponse) => void,
  ) {
    this.recorded = keepAudio ? [] : undefined;
  }

  /** Anything of the reply has been sent or taken in. */
  get started(): boolean {
    return this.segments.length > 0 || this.current !== undefined;
  }

  /** Audio of the reply has gone out (a CHUNK): something plays that the caller may talk over. */
  get playing(): boolean {
    return this.chunkSent;
  }

  /** The prompt being sent now may be barged in on. */
  get bargeable(): boolean {
    if (this.current) return this.current.bargeIn;
    const last = this.segments[this.segments.length - 1];
    return last !== undefined && (last.bargeIn ?? this.base.bargeIn);
  }

  prompt(p: AgentPrompt): void {
    this.closePiece();
    this.markStart();
    const bargeIn = p.bargeIn ?? this.base.bargeIn;
    const hasAudio = p.audio !== undefined && p.audio.data.length > 0;
    this.segments.push({ ms: p.audio ? msOf(p.audio.data.length, p.audio.format) : 0, bargeIn: p.bargeIn, text: p.text });
    if (this.mode === 'chunk' && hasAudio) {
      const data = toCallFormat(p.audio!, this.format);
      const chunks = splitChunks(data, this.format);
      for (let i = 0; i < chunks.length; i++) this.sendChunk(chunks[i], i === 0 ? p.text : '', bargeIn);
      this.recorded?.push({ audio: { format: this.format, data } });
      return;
    }
    this.finalPrompts.push(p);
    this.recorded?.push(p);
  }

  /** One piece of streamed speech; consecutive pieces form one prompt. */
  audio(audio: PromptAudio, text: string | undefined, bargeIn: boolean | undefined): void {
    this.markStart();
    let cur = this.current;
    if (cur === undefined) {
      const keep = this.mode === 'wav' || this.recorded !== undefined;
      cur = this.current = { text, bargeIn: bargeIn ?? this.base.bargeIn, ms: 0, textSent: false, pieces: keep ? [] : undefined };
    }
    const data = toCallFormat(audio, this.format);
    cur.ms += msOf(data.length, this.format);
    cur.pieces?.push(data);
    if (this.mode === 'wav') return;
    let out = data;
    if (cur.pending) {
      out = concat([cur.pending, data]);
      cur.pending = undefined;
    }
    if (out.length < CHUNK_MIN_BYTES) {
      cur.pending = out;
      return;
    }
    for (const c of splitChunks(out, this.format)) {
      this.sendChunk(c, cur.textSent ? '' : cur.text, cur.bargeIn);
      cur.textSent = true;
    }
  }

  /** A whole reply, nothing of it sent yet: its responses exactly as a request/reply agent's answer. */
  whole(reply: AgentReply, input = resolveInput(this.base, reply.next)): SentReply {
    for (const r of buildReplyResponses(reply, this.mode, input)) this.send(r);
    const { totalMs, noBargeInMs } = promptPlayback(reply, input);
    const terminal = reply.end !== undefined;
    const prompts = reply.prompts.map((p) => ({
      text: p.text,
      durationMs: p.audio ? Math.round(msOf(p.audio.data.length, p.audio.format)) : 0,
      bargeIn: !terminal && (p.bargeIn ?? input.bargeIn),
    }));
    return { reply, input, totalMs, noBargeInMs, startedAt: Date.now(), prompts };
  }

  /** The reply is complete: sends its FINAL and says what was sent. */
  finish(end: Omit<AgentReply, 'prompts'>): SentReply {
    const silent = !this.started && end.next === undefined && end.end === undefined && end.event === undefined;
    this.closePiece();
    const input = silent ? this.asked : resolveInput(this.base, end.next);
    // Whole replies go through the one builder: byte for byte what a request/reply agent always got.
    for (const r of buildReplyResponses({ ...end, prompts: this.finalPrompts }, this.mode, input)) this.send(r);
    const terminal = end.end !== undefined;
    let totalMs = 0;
    let noBargeInMs = 0;
    const prompts: PromptSummary[] = [];
    for (const seg of this.segments) {
      totalMs += seg.ms;
      const bargeIn = !terminal && (seg.bargeIn ?? input.bargeIn);
      if (!bargeIn) noBargeInMs = totalMs;
      prompts.push({ text: seg.text, durationMs: Math.round(seg.ms), bargeIn });
    }
    return {
      reply: { ...end, prompts: this.recorded ?? [] },
      input,
      totalMs,
      noBargeInMs,
      startedAt: this.startedAt || Date.now(),
      prompts,
    };
  }

  /** Barge-in: nothing more of this reply is sent; the FINAL closes the turn with what to collect next. */
  interrupt(): SentReply {
    if (this.current) this.current.pending = undefined;
    // Text-only prompts wait for the FINAL: not sent either once the caller spoke.
    this.finalPrompts.length = 0;
    return this.finish({});
  }

  private markStart(): void {
    if (this.startedAt === 0) this.startedAt = Date.now();
  }

  private sendChunk(data: Uint8Array, text: string | undefined, bargeIn: boolean): void {
    this.chunkSent = true;
    this.send(voiceVAResponse({ prompts: [protoPrompt({ text: text ?? '', audioContent: data, isBargeInEnabled: bargeIn })], responseType: RT.CHUNK }));
  }

  /** Ends the streamed prompt in progress: its small tail goes out padded, or (WAV) it becomes one prompt. */
  private closePiece(): void {
    const cur = this.current;
    if (cur === undefined) return;
    this.current = undefined;
    this.segments.push({ ms: cur.ms, bargeIn: cur.bargeIn, text: cur.text });
    if (this.mode === 'chunk' && cur.pending) {
      for (const c of splitChunks(cur.pending, this.format)) this.sendChunk(c, cur.textSent ? '' : cur.text, cur.bargeIn);
    }
    const data = cur.pieces ? concat(cur.pieces) : undefined;
    const whole: AgentPrompt = { text: cur.text, bargeIn: cur.bargeIn, audio: data ? { format: this.format, data } : undefined };
    if (this.mode === 'wav') this.finalPrompts.push(whole);
    this.recorded?.push(whole);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
