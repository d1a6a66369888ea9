import type { Interpretation, SessionState } from '@aws-sdk/client-lex-runtime-v2';
import type { LexReply, LexTurn } from './types';

/**
 * The default bot, so most tests need no script:
 * - sessionState Delegate + intent BookAppointment (a welcome starting the intent) → ElicitSlot Date
 * - '' (nothing heard)            → FallbackIntent, ElicitIntent, re-prompt
 * - hello / hi                    → Greeting, ElicitIntent, "Hello! ..."
 * - contains "book"               → BookAppointment, ElicitSlot Date, "For which day?"
 * - any answer while eliciting Date → slot filled, Close + Fulfilled, closing message
 * - contains "agent" / "human"    → TransferToAgent, Close + Fulfilled
 * - contains "fail"               → BookAppointment, Close + Failed
 * - anything else                 → FallbackIntent, ElicitIntent
 * Session attributes are carried over unchanged, like Lex does.
 */
export const TINY_BOT = {
  greeting: 'Hello! I can book an appointment. What would you like to do?',
  askDate: 'For which day?',
  noInput: "Sorry, I didn't hear anything. What would you like to do?",
  notUnderstood: "Sorry, I didn't understand. You can say book an appointment, or agent.",
  transfer: 'Transferring you to an agent.',
  failed: "Sorry, I can't help with that.",
  booked: (day: string) => `Your appointment is booked for ${day}. Goodbye!`,
} as const;

export function tinyBot(turn: LexTurn): LexReply {
  const input = turn.input.trim();
  const lower = input.toLowerCase();
  const attrs = turn.session.sessionAttributes ?? {};
  const prev = turn.session;
  const state = (s: Omit<SessionState, 'sessionAttributes'>): SessionState => ({ ...s, sessionAttributes: { ...attrs } });
  const interp = (name: string, score?: number, st?: SessionState['intent']): Interpretation => ({
    intent: st ?? { name, slots: {}, state: 'InProgress', confirmationState: 'None' },
    ...(score !== undefined ? { nluConfidence: { score } } : {}),
    interpretationSource: 'Lex',
  });
  const fallback = (message: string): LexReply => {
    const intent = { name: 'FallbackIntent', slots: {}, state: 'InProgress' as const, confirmationState: 'None' as const };
    return { messages: [message], sessionState: state({ dialogAction: { type: 'ElicitIntent' }, intent }), interpretations: [interp('FallbackIntent', undefined, intent)] };
  };

  // A welcome that starts the intent directly (sessionState intent + Delegate) skips intent recognition.
  if (prev.dialogAction?.type === 'Delegate' && prev.intent?.name === 'BookAppointment' && !prev.intent.slots?.Date) {
    const intent = { name: 'BookAppointment', slots: { Date: null as never }, state: 'InProgress' as const, confirmationState: 'None' as const };
    return {
      messages: [TINY_BOT.askDate],
      sessionState: state({ dialogAction: { type: 'ElicitSlot', slotToElicit: 'Date' }, intent }),
      interpretations: [interp('BookAppointment', 1, intent)],
    };
  }
  if (input === '') return fallback(TINY_BOT.noInput);

  // Answer to the elicited slot: anything non-empty fills it (digits included).
  if (prev.dialogAction?.type === 'ElicitSlot' && prev.dialogAction.slotToElicit === 'Date' && prev.intent?.name === 'BookAppointment') {
    const intent = {
      name: 'BookAppointment',
      slots: { Date: { value: { originalValue: input, interpretedValue: input, resolvedValues: [input] } } },
      state: 'Fulfilled' as const,
      confirmationState: 'None' as const,
    };
    return {
      messages: [TINY_BOT.booked(input)],
      sessionState: state({ dialogAction: { type: 'Close' }, intent }),
      interpretations: [interp('BookAppointment', 0.95, intent), interp('FallbackIntent')],
    };
  }
  if (/\b(agent|human|representative)\b/.test(lower)) {
    const intent = { name: 'TransferToAgent', slots: {}, state: 'Fulfilled' as const, confirmationState: 'None' as const };
    return {
      messages: [TINY_BOT.transfer],
      sessionState: state({ dialogAction: { type: 'Close' }, intent }),
      interpretations: [interp('TransferToAgent', 0.92, intent), interp('FallbackIntent')],
    };
  }
  if (lower.includes('fail')) {
    const intent = { name: 'BookAppointment', slots: { Date: null as never }, state: 'Failed' as const, confirmationState: 'None' as const };
    return {
      messages: [TINY_BOT.failed],
      sessionState: state({ dialogAction: { type: 'Close' }, intent }),
      interpretations: [interp('BookAppointment', 0.6, intent), interp('FallbackIntent')],
    };
  }
  if (lower.includes('book')) {
    const intent = { name: 'BookAppointment', slots: { Date: null as never }, state: 'InProgress' as const, confirmationState: 'None' as const };
    return {
      messages: [TINY_BOT.askDate],
      sessionState: state({ dialogAction: { type: 'ElicitSlot', slotToElicit: 'Date' }, intent }),
      interpretations: [interp('BookAppointment', 0.97, intent), interp('FallbackIntent')],
    };
  }
  if (/^(hello|hi|hey)\b/.test(lower)) {
    const intent = { name: 'Greeting', slots: {}, state: 'InProgress' as const, confirmationState: 'None' as const };
    return {
      messages: [TINY_BOT.greeting],
      sessionState: state({ dialogAction: { type: 'ElicitIntent' }, intent }),
      interpretations: [interp('Greeting', 0.99, intent), interp('FallbackIntent')],
    };
  }
  return fallback(TINY_BOT.notUnderstood);
}
