import { OutputEvent_EventType, VoiceVAResponse, VoiceVAResponse_ResponseType } from '@app/proto';

export interface TimelineEntry {
  /** ms since the turn (RPC) began. */
  atMs: number;
  kind: string;
  detail?: string;
}

export interface ReceivedPrompt {
  text: string;
  /** CHUNK audio of one turn is concatenated into a single prompt. */
  audio: Uint8Array;
  bargeIn: boolean;
  audioUri?: string;
  responseType: 'FINAL' | 'PARTIAL' | 'CHUNK';
}

export interface TurnTerminal {
  type: 'SESSION_END' | 'TRANSFER_TO_AGENT';
  name: string;
  metadata?: { [key: string]: unknown };
}

/** How the server sends prompt audio; fixed for a whole call. */
export type ReplyMode = 'WAV' | 'CHUNK';

export interface TurnStatus {
  code: number;
  details: string;
}

export interface TurnResult {
  /** What the turn sent, e.g. 'SESSION_START', 'audio', 'START_OF_DTMF', 'dtmf', 'raw'. */
  label: string;
  responses: VoiceVAResponse[];
  status: TurnStatus;
  timeline: TimelineEntry[];
  startOfInputAtMs?: number;
  endOfInputAtMs?: number;
  finalAtMs?: number;
  durationMs: number;
  framesSent: number;
  prompts: ReceivedPrompt[];
  terminal?: TurnTerminal;
  /** The reply mode this turn's prompt audio showed; undefined when it carried no audio. */
  replyMode?: ReplyMode;
  /** Protocol rules the server broke in this turn (see TurnRecorder). Empty when compliant. */
  violations: string[];
}

export const MIN_CHUNK_BYTES = 100;
export const MAX_CHUNK_BYTES = 64 * 1024;

const T = OutputEvent_EventType;
const SIGNALS = new Set<number>([T.START_OF_INPUT, T.END_OF_INPUT]);
/** Turns the protocol says the gateway answers (labels as set by ByovaCaller). */
const ANSWERED_LABELS = new Set(['SESSION_START', 'dtmf']);

export function eventName(type: number): string {
  return OutputEvent_EventType[type] ?? `EVENT_${type}`;
}

export function responseTypeName(type: number): string {
  return VoiceVAResponse_ResponseType[type] ?? `TYPE_${type}`;
}

export function isWav(audio: Uint8Array): boolean {
  return audio.length >= 12 && audio[0] === 0x52 && audio[1] === 0x49 && audio[2] === 0x46 && audio[3] === 0x46;
}

/**
 * An endpointing signal: only START_OF_INPUT/END_OF_INPUT events, no prompts. Gateways (the Python one included)
 * send these with the default response_type FINAL, so they must not count as the turn's answer.
 */
export function isSignalResponse(r: VoiceVAResponse): boolean {
  return r.prompts.length === 0 && r.outputEvents.length > 0 && r.outputEvents.every((e) => SIGNALS.has(e.eventType));
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/**
 * Records one turn and checks the server's responses against the BYOVA rules. Checks (kept simple on purpose):
 *  1. at most one FINAL answer per turn (endpointing signals excepted, see isSignalResponse);
 *  2. nothing after the FINAL answer;
 *  3. each CHUNK carries 100 B..64 KiB of audio;
 *  4. CHUNK audio is raw (no RIFF header);
 *  5. the FINAL closing a CHUNK stream carries no audio;
 *  6. CHUNKs are closed by a FINAL before the RPC completes OK;
 *  7. WAV mode: FINAL/PARTIAL prompt audio is a complete WAV (RIFF header);
 *  8. START_OF_INPUT/END_OF_INPUT at most once each, END_OF_INPUT not before START_OF_INPUT;
 *  9. prompts on a SESSION_END/TRANSFER_TO_AGENT response are not barge-in;
 * 10. no prompts in answer to a SESSION_END input (the caller is gone);
 * 11. a turn that owes an answer (SESSION_START, DTMF digits, anything after END_OF_INPUT) has a FINAL before the
 *     RPC completes OK, in WAV mode as in CHUNK mode. START_OF_DTMF and SESSION_END owe none;
 * 12. one reply mode (WAV or CHUNK audio) per turn, and the one earlier turns of the call showed (see finish()).
 */
export class TurnRecorder {
  readonly t0: number;
  readonly timeline: TimelineEntry[] = [];
  readonly responses: VoiceVAResponse[] = [];
  readonly violations: string[] = [];
  framesSent = 0;
  private readonly prompts: Array<ReceivedPrompt & { parts?: Uint8Array[] }> = [];
  private chunkPrompt?: ReceivedPrompt & { parts: Uint8Array[] };
  private chunkAudioSeen = false;
  /** The mode of the turn's first prompt audio. */
  private replyMode?: ReplyMode;
  private finalCount = 0;
  private startOfInputAtMs?: number;
  private endOfInputAtMs?: number;
  private finalAtMs?: number;
  private terminal?: TurnTerminal;

  constructor(
    readonly label: string,
    t0 = performance.now(),
  ) {
    this.t0 = t0;
  }

  now(): number {
    return round(performance.now() - this.t0);
  }

  mark(kind: string, detail?: string): number {
    const atMs = this.now();
    this.timeline.push(detail === undefined ? { atMs, kind } : { atMs, kind, detail });
    return atMs;
  }

  private violate(msg: string): void {
    this.violations.push(msg);
    this.mark('violation', msg);
  }

  onResponse(r: VoiceVAResponse): void {
    const n = this.responses.push(r);
    const signal = isSignalResponse(r);
    const type = responseTypeName(r.responseType);
    let at: number;

    if (signal) {
      at = this.now();
      for (const e of r.outputEvents) this.mark(eventName(e.eventType), e.name || undefined);
    } else {
      at = this.mark(type, describe(r));
      for (const e of r.outputEvents) this.mark(eventName(e.eventType), e.name || undefined);
    }

    // Rule 2 before counting, so a second FINAL reports rule 1 only.
    if (this.finalCount > 0 && !(r.responseType === VoiceVAResponse_ResponseType.FINAL && !signal)) {
      this.violate(`response #${n} (${signal ? 'event' : type}) after FINAL`);
    }

    for (const e of r.outputEvents) {
      if (e.eventType === T.START_OF_INPUT) {
        if (this.startOfInputAtMs !== undefined) this.violate('START_OF_INPUT sent twice');
        else this.startOfInputAtMs = at;
      } else if (e.eventType === T.END_OF_INPUT) {
        if (this.endOfInputAtMs !== undefined) this.violate('END_OF_INPUT sent twice');
        else {
          if (this.startOfInputAtMs === undefined) this.violate('END_OF_INPUT without START_OF_INPUT');
          this.endOfInputAtMs = at;
        }
      }
    }

    // WxCC acts on the first output event of a response.
    const first = r.outputEvents[0];
    if (first && (first.eventType === T.SESSION_END || first.eventType === T.TRANSFER_TO_AGENT)) {
      if (r.prompts.some((p) => p.isBargeInEnabled)) this.violate(`barge-in prompt on ${eventName(first.eventType)}`);
      this.terminal ??= {
        type: first.eventType === T.SESSION_END ? 'SESSION_END' : 'TRANSFER_TO_AGENT',
        name: first.name,
        ...(first.metadata ? { metadata: first.metadata } : {}),
      };
    }

    if (this.label === 'SESSION_END' && r.prompts.length > 0) this.violate('prompt sent in answer to SESSION_END');
    if (signal) return;

    const audioBytes = r.prompts.reduce((s, p) => s + p.audioContent.length, 0);
    if (r.responseType === VoiceVAResponse_ResponseType.CHUNK) {
      if (audioBytes < MIN_CHUNK_BYTES || audioBytes > MAX_CHUNK_BYTES) {
        this.violate(`CHUNK #${n} carries ${audioBytes} B of audio (allowed ${MIN_CHUNK_BYTES}..${MAX_CHUNK_BYTES})`);
      }
      if (r.prompts.some((p) => isWav(p.audioContent))) this.violate(`CHUNK #${n} audio has a WAV header`);
      // CHUNKs after WAV prompt audio (the other order is rule 5; after a FINAL, rule 2 has it).
      if (audioBytes > 0 && this.replyMode === 'WAV' && !this.chunkAudioSeen && this.finalCount === 0) this.violate('WAV and CHUNK audio in one turn');
      if (audioBytes > 0) {
        this.chunkAudioSeen = true;
        this.replyMode ??= 'CHUNK';
      }
      for (const p of r.prompts) this.addChunk(p.text, p.audioContent, p.isBargeInEnabled);
      return;
    }

    if (r.responseType === VoiceVAResponse_ResponseType.FINAL) {
      this.finalCount++;
      if (this.finalCount === 2) this.violate('more than one FINAL in a turn');
      this.finalAtMs ??= at;
      if (this.chunkAudioSeen && audioBytes > 0) this.violate('FINAL carries audio in CHUNK mode');
      this.chunkPrompt = undefined;
    }
    const typeName = r.responseType === VoiceVAResponse_ResponseType.PARTIAL ? 'PARTIAL' : 'FINAL';
    for (const p of r.prompts) {
      if (!this.chunkAudioSeen && p.audioContent.length > 0) {
        this.replyMode ??= 'WAV';
        if (!isWav(p.audioContent)) this.violate(`${typeName} prompt audio is not a WAV file (no RIFF header)`);
      }
      if (!p.text && p.audioContent.length === 0 && !p.audioUri) continue;
      this.prompts.push({
        text: p.text,
        audio: p.audioContent,
        bargeIn: p.isBargeInEnabled,
        ...(p.audioUri ? { audioUri: p.audioUri } : {}),
        responseType: typeName,
      });
    }
  }

  private owesAnswer(): boolean {
    return ANSWERED_LABELS.has(this.label) || this.endOfInputAtMs !== undefined;
  }

  private addChunk(text: string, audio: Uint8Array, bargeIn: boolean): void {
    if (!this.chunkPrompt) {
      this.chunkPrompt = { text: '', audio: new Uint8Array(0), bargeIn, responseType: 'CHUNK', parts: [] };
      this.prompts.push(this.chunkPrompt);
    }
    if (text) this.chunkPrompt.text = this.chunkPrompt.text ? `${this.chunkPrompt.text} ${text}` : text;
    if (audio.length) this.chunkPrompt.parts.push(audio);
  }

  /** `callMode`: the reply mode earlier turns of the call showed, if any. */
  finish(status: TurnStatus, callMode?: ReplyMode): TurnResult {
    if (status.code === 0 && this.finalCount === 0) {
      if (this.chunkPrompt) this.violate('CHUNK responses not closed by a FINAL');
      else if (this.owesAnswer()) this.violate('RPC completed without a FINAL answer');
    }
    const replyMode = this.replyMode;
    if (callMode && replyMode && replyMode !== callMode) this.violate(`${replyMode} audio in a call that replied in ${callMode} mode`);
    const prompts: ReceivedPrompt[] = this.prompts.map(({ parts, ...p }) => (parts ? { ...p, audio: concat(parts) } : p));
    return {
      label: this.label,
      responses: this.responses,
      status,
      timeline: this.timeline,
      startOfInputAtMs: this.startOfInputAtMs,
      endOfInputAtMs: this.endOfInputAtMs,
      finalAtMs: this.finalAtMs,
      durationMs: this.now(),
      framesSent: this.framesSent,
      prompts,
      terminal: this.terminal,
      replyMode,
      violations: this.violations,
    };
  }
}

function describe(r: VoiceVAResponse): string | undefined {
  const parts = r.prompts.map((p) => {
    const bits = [p.text ? JSON.stringify(p.text) : '', p.audioContent.length ? `${p.audioContent.length} B` : '', p.audioUri, p.isBargeInEnabled ? 'barge-in' : ''];
    return bits.filter(Boolean).join(' ');
  });
  return parts.filter(Boolean).join(' | ') || undefined;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
