import type { Interpretation, Message, SessionState } from '@aws-sdk/client-lex-runtime-v2';
import type { StructValue } from '@app/connector-sdk';

/** One Lex answer, decoded (RecognizeUtterance's gzip+base64 fields already unpacked). */
export interface LexResult {
  inputTranscript?: string;
  messages: Message[];
  interpretations: Interpretation[];
  sessionState?: SessionState;
  /** Lex's speech in the call's prompt format, when Lex spoke. */
  audio?: Uint8Array;
}

export interface OutcomeRules {
  transferIntents: string[];
  transferAttribute?: string;
}

export type Outcome =
  | { kind: 'continue' }
  | { kind: 'session_end'; reason: string }
  | { kind: 'transfer'; reason: string };

const TRUE = /^(true|yes|1)$/i;

/** The SSML markup stripped: the prompt's text is for display and transcripts. */
export function ssmlToText(ssml: string): string {
  return ssml.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
}

/** Every spoken message of a response, in order; cards and custom payloads are not speech. */
export function messageTexts(messages: Message[] | undefined): string[] {
  const out: string[] = [];
  for (const m of messages ?? []) {
    const text = m.contentType === 'PlainText' ? m.content?.trim() : m.contentType === 'SSML' ? ssmlToText(m.content ?? '') : undefined;
    if (text) out.push(text);
  }
  return out;
}

/** The intent the turn is about: the session state's, else the best interpretation's. */
export function currentIntent(r: LexResult) {
  return r.sessionState?.intent ?? r.interpretations[0]?.intent;
}

/** Dialog state → what happens to the call. */
export function classify(r: LexResult, rules: OutcomeRules): Outcome {
  const intent = currentIntent(r);
  const action = r.sessionState?.dialogAction?.type;
  const attrs = r.sessionState?.sessionAttributes ?? {};
  if (rules.transferAttribute && TRUE.test(attrs[rules.transferAttribute] ?? '')) return { kind: 'transfer', reason: 'transfer_attribute' };
  if (intent?.state === 'Failed') return { kind: 'transfer', reason: 'intent_failed' };
  const asking = action === 'ElicitSlot' || action === 'ElicitIntent' || action === 'ConfirmIntent';
  // A transfer intent still asking its own questions (a confirmation) goes on until Lex is done with it.
  if (intent?.name && rules.transferIntents.includes(intent.name) && !asking) return { kind: 'transfer', reason: 'transfer_intent' };
  if (asking) return { kind: 'continue' };
  if (intent?.state === 'Fulfilled' || intent?.state === 'ReadyForFulfillment') return { kind: 'session_end', reason: 'intent_fulfilled' };
  if (action === 'Close') return { kind: 'session_end', reason: 'dialog_closed' };
  return { kind: 'continue' };
}

/** Slot name → interpreted value (lists joined), for the flow. */
export function slotValues(r: LexResult): Record<string, string | string[] | null> {
  const out: Record<string, string | string[] | null> = {};
  for (const [name, slot] of Object.entries(currentIntent(r)?.slots ?? {})) {
    if (!slot) out[name] = null;
    else if (slot.values?.length) out[name] = slot.values.map((v) => v.value?.interpretedValue ?? '').filter(Boolean);
    else out[name] = slot.value?.interpretedValue ?? null;
  }
  return out;
}

/** What a WxCC flow needs to route after the bot: bot, intent and state, slots, session attributes. */
export function outcomeMetadata(r: LexResult, bot: string, reason: string, includeTranscript: boolean): StructValue {
  const intent = currentIntent(r);
  const meta: StructValue = {
    reason,
    bot_name: bot,
    intent_name: intent?.name ?? '',
    intent_state: intent?.state ?? '',
    slots: slotValues(r),
    session_attributes: { ...(r.sessionState?.sessionAttributes ?? {}) },
  };
  if (includeTranscript && r.inputTranscript) meta.transcript = r.inputTranscript;
  return meta;
}

/** Lex heard nothing usable: no transcript, nothing or only the fallback matched. */
export function heardNothing(r: LexResult): boolean {
  const name = currentIntent(r)?.name;
  return !r.inputTranscript?.trim() && (!name || name === 'FallbackIntent');
}
