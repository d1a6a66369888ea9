import { type AudioFormat, durationMs, writeWav } from '@app/audio';
import type { AgentPrompt, AgentReply } from '@app/connector-sdk';
import {
  outputEvent,
  OutputEvent_EventType,
  prompt,
  textContent,
  voiceVAResponse,
  VoiceVAResponse,
  VoiceVAResponse_ResponseType as RT,
} from '@app/proto';
import { inputFields, ResolvedInput } from './next-input';

export type ReplyMode = 'wav' | 'chunk';

/** WxCC's bounds for one CHUNK's raw audio. */
export const CHUNK_MIN_BYTES = 100;
export const CHUNK_MAX_BYTES = 64 * 1024;

export const ERROR_EVENT_NAME = 'error_occurred';

/** Turn-boundary events are PARTIAL: the turn's single FINAL is the answer that follows. */
export const START_OF_INPUT = voiceVAResponse({
  outputEvents: [outputEvent({ eventType: OutputEvent_EventType.START_OF_INPUT })],
  responseType: RT.PARTIAL,
});
export const END_OF_INPUT = voiceVAResponse({
  outputEvents: [outputEvent({ eventType: OutputEvent_EventType.END_OF_INPUT, name: 'end_of_input' })],
  responseType: RT.PARTIAL,
});
export const NO_INPUT = voiceVAResponse({
  outputEvents: [outputEvent({ eventType: OutputEvent_EventType.NO_INPUT, name: 'no_input' })],
  responseType: RT.PARTIAL,
});

const SILENCE_BYTE: Record<AudioFormat['encoding'], number> = { mulaw: 0xff, alaw: 0xd5, linear16: 0 };

/**
 * Splits raw audio into CHUNK payloads: as few and as large as allowed, evenly sized so no tail is
 * tiny, sample aligned; audio shorter than the minimum is padded with silence.
 */
export function splitChunks(data: Uint8Array, format: AudioFormat): Uint8Array[] {
  if (data.length === 0) return [];
  if (data.length < CHUNK_MIN_BYTES) {
    const padded = new Uint8Array(CHUNK_MIN_BYTES).fill(SILENCE_BYTE[format.encoding]);
    padded.set(data);
    return [padded];
  }
  const align = format.encoding === 'linear16' ? 2 : 1;
  const count = Math.ceil(data.length / CHUNK_MAX_BYTES);
  let size = Math.ceil(data.length / count);
  size += (align - (size % align)) % align;
  const chunks: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += size) chunks.push(data.subarray(off, Math.min(off + size, data.length)));
  return chunks;
}

function terminalEvent(end: NonNullable<AgentReply['end']>) {
  const transfer = end.kind === 'transfer';
  return outputEvent({
    eventType: transfer ? OutputEvent_EventType.TRANSFER_TO_AGENT : OutputEvent_EventType.SESSION_END,
    name: end.name ?? (transfer ? 'transfer_requested' : 'session_ended'),
    metadata: end.metadata,
  });
}

function wavOf(p: AgentPrompt): Uint8Array | undefined {
  if (!p.audio) return undefined;
  return p.audio.wav ?? writeWav(p.audio.data, p.audio.format);
}

/**
 * One agent answer as the responses of a turn: WAV mode sends one FINAL carrying complete WAV prompts;
 * CHUNK mode streams raw audio as CHUNKs, then an audio-less FINAL with the events and input settings.
 * At most one output event: the terminal one if the call ends, else the custom one. Terminal prompts
 * cannot be barged in, and a hang-up asks for no further input.
 */
export function buildReplyResponses(reply: AgentReply, mode: ReplyMode, input: ResolvedInput): VoiceVAResponse[] {
  const terminal = reply.end !== undefined;
  const events = reply.end ? [terminalEvent(reply.end)] : reply.event ? [outputEvent({ eventType: OutputEvent_EventType.CUSTOM_EVENT, name: reply.event.name, metadata: reply.event.metadata })] : [];
  const bargeInOf = (p: AgentPrompt) => !terminal && (p.bargeIn ?? input.bargeIn);
  const final: Partial<VoiceVAResponse> = {
    outputEvents: events,
    responseType: RT.FINAL,
    ...(reply.end?.kind === 'session_end' ? {} : inputFields(input)),
    sessionTranscript: terminal && reply.transcript ? textContent(reply.transcript) : undefined,
    sessionSummary: terminal && reply.summary ? textContent(reply.summary) : undefined,
  };
  if (mode === 'wav') {
    final.prompts = reply.prompts.map((p) => prompt({ text: p.text, audioContent: wavOf(p), isBargeInEnabled: bargeInOf(p) }));
    return [voiceVAResponse(final)];
  }
  const out: VoiceVAResponse[] = [];
  const textOnly = [];
  for (const p of reply.prompts) {
    if (!p.audio || p.audio.data.length === 0) {
      textOnly.push(prompt({ text: p.text, isBargeInEnabled: bargeInOf(p) }));
      continue;
    }
    const chunks = splitChunks(p.audio.data, p.audio.format);
    for (let i = 0; i < chunks.length; i++) {
      out.push(voiceVAResponse({
        prompts: [prompt({ text: i === 0 ? p.text : '', audioContent: chunks[i], isBargeInEnabled: bargeInOf(p) })],
        responseType: RT.CHUNK,
      }));
    }
  }
  final.prompts = textOnly;
  out.push(voiceVAResponse(final));
  return out;
}

/** The agent's apology plus the `error_occurred` event, as a reply; never any internal detail. */
export function errorReply(apology: AgentReply | undefined): AgentReply {
  return {
    prompts: (apology?.prompts ?? [{ text: 'Sorry, something went wrong.' }]).map((p) => ({ ...p, bargeIn: false })),
    event: { name: ERROR_EVENT_NAME },
  };
}

/**
 * How long an answer's prompts play, from the audio's length: in total, and up to the end of the last
 * prompt that cannot be barged in (text-only prompts count as 0 ms).
 */
export function promptPlayback(reply: AgentReply, input: ResolvedInput): { totalMs: number; noBargeInMs: number } {
  let totalMs = 0;
  let noBargeInMs = 0;
  for (const p of reply.prompts) {
    if (p.audio) totalMs += durationMs(p.audio.data.length, p.audio.format);
    if (reply.end !== undefined || !(p.bargeIn ?? input.bargeIn)) noBargeInMs = totalMs;
  }
  return { totalMs, noBargeInMs };
}

/** A turn's answer when the agent has nothing to say: only what to collect next. */
export function buildEmptyReply(input: ResolvedInput): VoiceVAResponse {
  return voiceVAResponse({ responseType: RT.FINAL, ...inputFields(input) });
}
