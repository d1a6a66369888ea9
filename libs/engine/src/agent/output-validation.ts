import type { AgentOutput, AgentPrompt, AgentReply, NextInput, PromptAudio } from '@app/connector-sdk';

/** A connector handed the engine something it cannot send; the message names what (for logs, not callers). */
export class InvalidAgentOutputError extends Error {
  override name = 'InvalidAgentOutputError';
}

const ENCODINGS = new Set(['mulaw', 'alaw', 'linear16']);
const MODES = new Set(['voice', 'dtmf', 'voice_dtmf']);
const END_KINDS = new Set(['session_end', 'transfer']);
const DTMF_KEYS = /^[0-9A-D*#]?$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optString = (v: unknown) => v === undefined || typeof v === 'string';
const optBool = (v: unknown) => v === undefined || typeof v === 'boolean';
const optCount = (v: unknown) => v === undefined || (Number.isInteger(v) && (v as number) >= 0);

function audioProblem(a: PromptAudio, where: string): string | undefined {
  if (!isObject(a as unknown)) return `${where} is not an object`;
  if (!(a.data instanceof Uint8Array)) return `${where}.data is not a Uint8Array`;
  if (!isObject(a.format)) return `${where}.format is missing`;
  if (!ENCODINGS.has(a.format.encoding)) return `${where}.format.encoding "${String(a.format.encoding)}" cannot be sent (use mulaw, alaw or linear16)`;
  const rate = a.format.sampleRate;
  if (!Number.isInteger(rate) || rate < 8000 || rate > 48000) return `${where}.format.sampleRate ${String(rate)} is not 8000-48000`;
  if (a.format.encoding === 'linear16' && a.data.length % 2 !== 0) return `${where}.data has an odd length for 16-bit audio`;
  if (a.wav !== undefined && !(a.wav instanceof Uint8Array)) return `${where}.wav is not a Uint8Array`;
  return undefined;
}

function promptProblem(p: AgentPrompt, where: string): string | undefined {
  if (!isObject(p as unknown)) return `${where} is not an object`;
  if (!optString(p.text)) return `${where}.text is not a string`;
  if (!optBool(p.bargeIn)) return `${where}.bargeIn is not a boolean`;
  return p.audio === undefined ? undefined : audioProblem(p.audio, `${where}.audio`);
}

function nextProblem(n: NextInput | undefined): string | undefined {
  if (n === undefined) return undefined;
  if (!isObject(n as unknown)) return 'next is not an object';
  if (n.mode !== undefined && !MODES.has(n.mode)) return `next.mode "${String(n.mode)}" is not voice, dtmf or voice_dtmf`;
  if (!optBool(n.bargeIn) || !optBool(n.sensitive)) return 'next.bargeIn / next.sensitive is not a boolean';
  if (n.dtmf !== undefined) {
    if (!isObject(n.dtmf) || !optCount(n.dtmf.length) || !optCount(n.dtmf.interDigitTimeoutMs)) return 'next.dtmf has a value that is not a whole number >= 0';
    if (n.dtmf.terminator !== undefined && !(typeof n.dtmf.terminator === 'string' && DTMF_KEYS.test(n.dtmf.terminator))) return 'next.dtmf.terminator is not one DTMF key';
  }
  if (n.speech !== undefined) {
    const s = n.speech;
    if (!isObject(s) || ![s.completeTimeoutMs, s.incompleteTimeoutMs, s.maxSpeechMs, s.noInputTimeoutMs].every(optCount)) {
      return 'next.speech has a value that is not a whole number >= 0';
    }
  }
  return undefined;
}

function replyEndProblem(r: Omit<AgentReply, 'prompts'>): string | undefined {
  if (r.end !== undefined && !(isObject(r.end) && END_KINDS.has(r.end.kind) && optString(r.end.name) && (r.end.metadata === undefined || isObject(r.end.metadata)))) {
    return 'end is not { kind: session_end | transfer, name?, metadata? }';
  }
  if (r.event !== undefined && !(isObject(r.event) && typeof r.event.name === 'string' && r.event.name !== '' && (r.event.metadata === undefined || isObject(r.event.metadata)))) {
    return 'event is not { name, metadata? }';
  }
  if (!optString(r.transcript) || !optString(r.summary)) return 'transcript / summary is not a string';
  return nextProblem(r.next);
}

/** Checks one output where it enters the engine: undefined when it can be sent, else what is wrong. */
export function agentOutputProblem(o: AgentOutput): string | undefined {
  if (!isObject(o)) return 'output is not an object';
  switch (o.type) {
    case 'start_of_input':
    case 'end_of_input':
      return undefined;
    case 'prompt':
      return promptProblem(o.prompt, 'prompt');
    case 'audio':
      if (!optString(o.text) || !optBool(o.bargeIn)) return 'audio.text / audio.bargeIn has the wrong type';
      return audioProblem(o.audio, 'audio');
    case 'reply_end':
      return replyEndProblem(o);
    case 'reply': {
      const r = o.reply;
      if (!isObject(r)) return 'reply is not an object';
      if (!Array.isArray(r.prompts)) return 'reply.prompts is not an array';
      for (let i = 0; i < r.prompts.length; i++) {
        const p = promptProblem(r.prompts[i], `reply.prompts[${i}]`);
        if (p) return p;
      }
      return replyEndProblem(r);
    }
    default:
      return `unknown output type "${String((o as { type?: unknown }).type)}"`;
  }
}
