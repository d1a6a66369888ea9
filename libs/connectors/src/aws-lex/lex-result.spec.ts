import type { LexResult } from './lex-result';
import { classify, heardNothing, messageTexts, outcomeMetadata, slotValues } from './lex-result';

const rules = { transferIntents: ['TransferToAgent', 'Agent'], transferAttribute: 'escalate' };
const result = (action: string | undefined, intent?: { name: string; state?: string }, attrs?: Record<string, string>): LexResult => ({
  messages: [],
  interpretations: [],
  sessionState: { dialogAction: action ? { type: action as never } : undefined, intent: intent as never, sessionAttributes: attrs },
});

describe('classify (dialog state → call)', () => {
  it.each(['ElicitSlot', 'ElicitIntent', 'ConfirmIntent'])('%s continues', (a) => {
    expect(classify(result(a, { name: 'Book', state: 'InProgress' }), rules)).toEqual({ kind: 'continue' });
  });

  it.each(['Fulfilled', 'ReadyForFulfillment'])('Close with %s ends the session', (state) => {
    expect(classify(result('Close', { name: 'Book', state }), rules)).toEqual({ kind: 'session_end', reason: 'intent_fulfilled' });
  });

  it('Failed transfers', () => {
    expect(classify(result('Close', { name: 'Book', state: 'Failed' }), rules)).toEqual({ kind: 'transfer', reason: 'intent_failed' });
  });

  it('a transfer intent transfers once Lex stops asking', () => {
    expect(classify(result('Close', { name: 'Agent', state: 'Fulfilled' }), rules)).toEqual({ kind: 'transfer', reason: 'transfer_intent' });
    expect(classify(result('Delegate', { name: 'TransferToAgent', state: 'ReadyForFulfillment' }), rules)).toEqual({ kind: 'transfer', reason: 'transfer_intent' });
    expect(classify(result('ConfirmIntent', { name: 'TransferToAgent', state: 'InProgress' }), rules)).toEqual({ kind: 'continue' });
  });

  it('the transfer attribute transfers', () => {
    expect(classify(result('ElicitSlot', { name: 'Book', state: 'InProgress' }, { escalate: 'true' }), rules)).toEqual({ kind: 'transfer', reason: 'transfer_attribute' });
    expect(classify(result('ElicitSlot', { name: 'Book', state: 'InProgress' }, { escalate: 'false' }), rules)).toEqual({ kind: 'continue' });
  });

  it('falls back to the best interpretation when the session state names no intent', () => {
    const r: LexResult = { messages: [], interpretations: [{ intent: { name: 'Agent', state: 'ReadyForFulfillment' } }], sessionState: {} };
    expect(classify(r, rules)).toEqual({ kind: 'transfer', reason: 'transfer_intent' });
  });

  it('a Close without a fulfilled intent still ends; no state at all continues', () => {
    expect(classify(result('Close', { name: 'Book', state: 'InProgress' }), rules)).toEqual({ kind: 'session_end', reason: 'dialog_closed' });
    expect(classify({ messages: [], interpretations: [] }, rules)).toEqual({ kind: 'continue' });
  });
});

describe('messages', () => {
  it('plays plain text and SSML in order, skips cards and payloads', () => {
    expect(
      messageTexts([
        { contentType: 'PlainText', content: 'Hi.' },
        { contentType: 'ImageResponseCard', imageResponseCard: { title: 'Pick' } },
        { contentType: 'SSML', content: '<speak>Your <emphasis>balance</emphasis> is ready.</speak>' },
        { contentType: 'CustomPayload', content: '{"x":1}' },
        { contentType: 'PlainText', content: '  ' },
      ]),
    ).toEqual(['Hi.', 'Your balance is ready.']);
    expect(messageTexts(undefined)).toEqual([]);
  });
});

describe('metadata for the flow', () => {
  const r: LexResult = {
    inputTranscript: 'my card number is 4111',
    messages: [],
    interpretations: [],
    sessionState: {
      intent: {
        name: 'Pay',
        state: 'Failed',
        slots: {
          Amount: { value: { interpretedValue: '20', originalValue: 'twenty' } },
          Card: null as never,
          Days: { values: [{ value: { interpretedValue: 'Mon', originalValue: 'monday' } }, { value: { interpretedValue: 'Tue', originalValue: 'tue' } }] },
        },
      },
      sessionAttributes: { ani: '123' },
    },
  };

  it('carries bot, intent, state, interpreted slots and attributes, not the transcript by default', () => {
    expect(slotValues(r)).toEqual({ Amount: '20', Card: null, Days: ['Mon', 'Tue'] });
    expect(outcomeMetadata(r, 'Banking', 'intent_failed', false)).toEqual({
      reason: 'intent_failed',
      bot_name: 'Banking',
      intent_name: 'Pay',
      intent_state: 'Failed',
      slots: { Amount: '20', Card: null, Days: ['Mon', 'Tue'] },
      session_attributes: { ani: '123' },
    });
    expect(outcomeMetadata(r, 'Banking', 'x', true).transcript).toBe('my card number is 4111');
  });

  it('knows when Lex heard nothing', () => {
    expect(heardNothing({ inputTranscript: '', messages: [], interpretations: [{ intent: { name: 'FallbackIntent' } }] })).toBe(true);
    expect(heardNothing({ messages: [], interpretations: [] })).toBe(true);
    expect(heardNothing(r)).toBe(false);
  });
});
