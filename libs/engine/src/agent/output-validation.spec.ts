import type { AgentOutput } from '@app/connector-sdk';
import { agentOutputProblem } from './output-validation';

const MULAW = { encoding: 'mulaw' as const, sampleRate: 8000 };
const audio = (data: unknown = new Uint8Array(160), format: unknown = MULAW) => ({ format, data }) as never;
// Connectors are plain JS at runtime: outputs arrive with any shape.
const problem = (o: unknown) => agentOutputProblem(o as AgentOutput);

describe('agentOutputProblem', () => {
  it('accepts every well-formed output', () => {
    const ok: AgentOutput[] = [
      { type: 'start_of_input' },
      { type: 'end_of_input' },
      { type: 'prompt', prompt: { text: 'hi', bargeIn: false, audio: audio() } },
      { type: 'audio', audio: audio(new Uint8Array(4), { encoding: 'linear16', sampleRate: 16000 }), text: 't', bargeIn: true },
      { type: 'reply_end', next: { mode: 'dtmf', dtmf: { length: 4, terminator: '#' }, speech: { noInputTimeoutMs: 0 }, bargeIn: false } },
      { type: 'reply_end', end: { kind: 'transfer', name: 'x', metadata: { a: 1 } }, transcript: 't', summary: 's' },
      { type: 'reply', reply: { prompts: [{ text: 'a' }, { audio: audio() }], event: { name: 'ev', metadata: {} } } },
    ];
    for (const o of ok) expect(agentOutputProblem(o)).toBeUndefined();
  });

  it.each([
    ['not an object', null, /not an object/],
    ['unknown type', { type: 'speak' }, /unknown output type "speak"/],
    ['prompt text not a string', { type: 'prompt', prompt: { text: 3 } }, /prompt\.text/],
    ['prompt bargeIn not a boolean', { type: 'prompt', prompt: { bargeIn: 'yes' } }, /prompt\.bargeIn/],
    ['audio data not bytes', { type: 'audio', audio: audio([1, 2]) }, /audio\.data is not a Uint8Array/],
    ['audio without format', { type: 'audio', audio: { data: new Uint8Array(2) } }, /format is missing/],
    ['encoding the gateway cannot send', { type: 'audio', audio: audio(undefined, { encoding: 'opus', sampleRate: 8000 }) }, /encoding "opus"/],
    ['rate out of range', { type: 'audio', audio: audio(undefined, { encoding: 'mulaw', sampleRate: 4000 }) }, /sampleRate 4000/],
    ['odd 16-bit length', { type: 'audio', audio: audio(new Uint8Array(3), { encoding: 'linear16', sampleRate: 8000 }) }, /odd length/],
    ['wav not bytes', { type: 'audio', audio: { format: MULAW, data: new Uint8Array(2), wav: 'RIFF' } }, /wav is not a Uint8Array/],
    ['audio text of the wrong type', { type: 'audio', audio: audio(), text: 1 }, /audio\.text/],
    ['reply without prompts', { type: 'reply', reply: { end: { kind: 'session_end' } } }, /reply\.prompts is not an array/],
    ['bad prompt inside a reply', { type: 'reply', reply: { prompts: [{ text: 'a' }, { audio: audio(undefined, {}) }] } }, /reply\.prompts\[1\]\.audio/],
    ['end of an unknown kind', { type: 'reply_end', end: { kind: 'hangup' } }, /end is not/],
    ['event without a name', { type: 'reply_end', event: { name: '' } }, /event is not/],
    ['transcript not a string', { type: 'reply_end', transcript: 1 }, /transcript/],
    ['next mode unknown', { type: 'reply_end', next: { mode: 'video' } }, /next\.mode "video"/],
    ['negative dtmf length', { type: 'reply_end', next: { dtmf: { length: -1 } } }, /next\.dtmf/],
    ['terminator of two keys', { type: 'reply_end', next: { dtmf: { terminator: '##' } } }, /terminator/],
    ['fractional speech timer', { type: 'reply_end', next: { speech: { maxSpeechMs: 1.5 } } }, /next\.speech/],
    ['sensitive not a boolean', { type: 'reply_end', next: { sensitive: 'no' } }, /sensitive/],
  ])('names what is wrong: %s', (_name, output, message) => {
    expect(problem(output)).toMatch(message);
  });
});
