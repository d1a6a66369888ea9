import { AgentDefaults } from '@app/config';
import { DTMFDigits } from '@app/proto';
import { defaultInput, dtmfEventsToDigits, dtmfKeyToEnum, inputFields, resolveInput } from './next-input';

describe('next input', () => {
  it('maps every DTMF enum value to its key and back (10 is 0, 15 is *, 16 is #)', () => {
    const all = Array.from({ length: 16 }, (_, i) => i + 1);
    expect(dtmfEventsToDigits(all)).toBe('1234567890ABCD*#');
    for (const [i, ch] of [...'1234567890ABCD*#'].entries()) expect(dtmfKeyToEnum(ch)).toBe(i + 1);
    expect(dtmfEventsToDigits([0])).toBeUndefined();
    expect(dtmfEventsToDigits([17])).toBeUndefined();
  });

  it('lets the agent override its defaults field by field', () => {
    const base = defaultInput(new AgentDefaults());
    const r = resolveInput(base, { dtmf: { length: 4, terminator: undefined }, speech: { noInputTimeoutMs: 5000 }, mode: 'dtmf' });
    expect(r.dtmf).toEqual({ length: 4, interDigitTimeoutMs: 300, terminator: '#' });
    expect(r.speech.noInputTimeoutMs).toBe(5000);
    expect(r.speech.completeTimeoutMs).toBe(5000);
    const f = inputFields(r);
    expect(f.inputHandlingConfig?.dtmfConfig).toEqual({ dtmfInputLength: 4, interDigitTimeoutMsec: 300, termchar: DTMFDigits.DTMF_DIGIT_POUND });
    expect(f.inputMode).toBe(2);
  });

  it('carries an answer\'s end silence as JSON conversation state, unset by default, never to WxCC', () => {
    const base = defaultInput(new AgentDefaults());
    expect(base.speech.endSilenceMs).toBeUndefined();
    const r = resolveInput(base, { speech: { endSilenceMs: 400 } });
    expect(JSON.parse(JSON.stringify(r)).speech.endSilenceMs).toBe(400);
    expect(JSON.stringify(inputFields(r))).not.toContain('400');
  });
});
