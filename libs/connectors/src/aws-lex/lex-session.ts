import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { NextInput } from '@app/connector-sdk';

const SESSION_ID_OK = /^[0-9a-zA-Z._:-]{2,100}$/;

/**
 * Lex session id for a conversation: the id itself when Lex accepts it, else a readable prefix plus a hash
 * of the original, so two conversations never share a Lex session.
 */
export function lexSessionId(conversationId: string): string {
  if (SESSION_ID_OK.test(conversationId)) return conversationId;
  const hash = createHash('sha256').update(conversationId).digest('hex').slice(0, 24);
  const safe = conversationId.replace(/[^0-9a-zA-Z._:-]/g, '_').slice(0, 75);
  return `${safe}-${hash}`;
}

/** RecognizeUtterance's JSON headers and response fields: gzip, then base64. */
export function encodeLexField(value: unknown): string {
  return gzipSync(Buffer.from(JSON.stringify(value))).toString('base64');
}

export function decodeLexField<T>(value: string | undefined): T | undefined {
  if (!value) return undefined;
  return JSON.parse(gunzipSync(Buffer.from(value, 'base64')).toString('utf8')) as T;
}

/** The transcript field: a plain string once unpacked (a JSON string is accepted too). */
export function decodeLexText(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const text = gunzipSync(Buffer.from(value, 'base64')).toString('utf8');
  if (text.startsWith('"')) {
    try {
      return JSON.parse(text) as string;
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * A scoped Lex voice attribute (`x-amz-lex:<name>:<intent>:<slot>`, `*` = any): the most specific match wins,
 * the unscoped key last.
 */
export function scopedAttribute(attrs: Record<string, string> | undefined, name: string, intent?: string, slot?: string): string | undefined {
  if (!attrs) return undefined;
  const base = `x-amz-lex:${name}`;
  const keys: string[] = [];
  if (intent && slot) keys.push(`${base}:${intent}:${slot}`);
  if (intent) keys.push(`${base}:${intent}:*`);
  if (slot) keys.push(`${base}:*:${slot}`);
  keys.push(`${base}:*:*`, base);
  for (const k of keys) if (attrs[k] !== undefined && attrs[k] !== '') return attrs[k];
  return undefined;
}

function intAttr(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v.trim());
}

/** Lex's voice and DTMF session attributes for the slot being elicited, as the next input's settings. */
export function nextInputFromAttributes(attrs: Record<string, string> | undefined, intent?: string, slot?: string): NextInput | undefined {
  const get = (name: string) => scopedAttribute(attrs, name, intent, slot);
  const next: NextInput = {};
  const speech: NonNullable<NextInput['speech']> = {};
  const noInput = intAttr(get('audio:start-timeout-ms'));
  if (noInput !== undefined) speech.noInputTimeoutMs = noInput;
  // Lex's own end-of-speech silence: the gateway endpoints, so its endpointer waits that long for this turn.
  const endSilence = intAttr(get('audio:end-timeout-ms'));
  if (endSilence !== undefined && endSilence > 0) speech.endSilenceMs = endSilence;
  const maxLen = intAttr(get('audio:max-length-ms'));
  if (maxLen !== undefined) speech.maxSpeechMs = maxLen;
  if (Object.keys(speech).length) next.speech = speech;

  const dtmf: NonNullable<NextInput['dtmf']> = {};
  const length = intAttr(get('dtmf:max-length'));
  if (length !== undefined && length > 0) dtmf.length = length;
  const interDigit = intAttr(get('dtmf:end-timeout-ms'));
  if (interDigit !== undefined) dtmf.interDigitTimeoutMs = interDigit;
  const end = get('dtmf:end-character');
  if (end !== undefined && /^[0-9*#A-D]$/.test(end)) dtmf.terminator = end;
  if (Object.keys(dtmf).length) next.dtmf = dtmf;

  const interrupt = get('allow-interrupt')?.trim().toLowerCase();
  if (interrupt === 'true' || interrupt === 'false') next.bargeIn = interrupt === 'true';
  return Object.keys(next).length ? next : undefined;
}

/** `x-amz-lex:dtmf:deletion-character` for the slot being elicited; unset unless Lex set it (then `*` is a digit). */
export function dtmfDeletionCharacter(attrs: Record<string, string> | undefined, intent?: string, slot?: string): string | undefined {
  const ch = scopedAttribute(attrs, 'dtmf:deletion-character', intent, slot);
  return ch !== undefined && /^[0-9*#A-D]$/.test(ch) ? ch : undefined;
}

/**
 * Lex's deletion character clears every digit entered before it (not only the last one): the caller starts
 * over, so only what follows the last deletion counts. The gateway collects the digits, so it applies it.
 */
export function applyDtmfDeletion(digits: string, deletion: string | undefined): string {
  if (!deletion) return digits;
  const at = digits.lastIndexOf(deletion);
  return at < 0 ? digits : digits.slice(at + 1);
}

/** A CUSTOM_EVENT's parameters as Lex session attributes (string values only). */
export function eventAttributes(parameters: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parameters ?? {})) {
    if (v === undefined || v === null) continue;
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}
