import { encodeFromPcm16 } from '@app/audio';
import { AgentDefaults } from '@app/config';
import type { CallerInput } from '@app/connector-sdk';
import { EnergyEndpointer, SpeechEvent, type SpeechEndpointer, type SpeechEventListener } from '@app/endpointing';
import { type VoiceInput, VoiceInput_VoiceEncoding as ENC } from '@app/proto';
import type { CallerInput as RecordedInput } from '@app/recording';
import { defaultInput, type ResolvedInput } from '../next-input';
import { AudioIntake, CLOCK_SLACK_MS, type IntakeListener, type IntakeOptions } from './audio-intake';

const FRAME = 160; // 20 ms at 8 kHz
const NOW = 1_000_000;

/** 20 ms µ-law frames: a loud tone or silence. */
function frame(loud: boolean, samples = FRAME): Uint8Array {
  const pcm = new Int16Array(samples);
  if (loud) for (let i = 0; i < samples; i++) pcm[i] = Math.round(10000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  return encodeFromPcm16(pcm, 'mulaw');
}
const SILENCE = frame(false);
const SPEECH = frame(true);

const voice = (callerAudio: Uint8Array, encoding = ENC.MULAW_FORMAT, sampleRateHertz = 8000): VoiceInput => ({
  callerAudio, encoding, sampleRateHertz, audioTimestamp: undefined, languageCode: 'en-US', isSingleUtterance: false,
});

/** An endpointer that says what the test scripts, at positions counted from the first sample it heard. */
class ScriptedEndpointer implements SpeechEndpointer {
  heard = 0;
  closed = false;
  private readonly script: Array<[number, SpeechEvent]> = [];
  flushGate?: Promise<void>;
  constructor(readonly rate: number, readonly listener: SpeechEventListener) {}
  at(position: number, event: SpeechEvent): this {
    this.script.push([position, event]);
    return this;
  }
  push(samples: Int16Array): void {
    this.heard += samples.length;
    while (this.script.length > 0 && this.script[0][0] <= this.heard) {
      const [at, event] = this.script.shift()!;
      this.listener(event, at);
    }
  }
  close(): void {
    this.closed = true;
  }
  flush(): Promise<void> {
    return this.flushGate ?? Promise.resolve();
  }
}

class Listener implements IntakeListener {
  events: string[] = [];
  utterances: Array<Extract<CallerInput, { kind: 'speech' }>> = [];
  bargeable = false;
  speechStarted() {
    this.events.push('start');
  }
  utterance(u: Extract<CallerInput, { kind: 'speech' }>) {
    this.events.push('utterance');
    this.utterances.push(u);
  }
  noInput() {
    this.events.push('no_input');
  }
  bargeIn() {
    this.events.push('barge_in');
  }
}

function speech(over: Partial<ResolvedInput['speech']>): ResolvedInput {
  const base = defaultInput(new AgentDefaults());
  return { ...base, speech: { ...base.speech, maxSpeechMs: 0, noInputTimeoutMs: 0, ...over } };
}

function open(o: Partial<IntakeOptions> & { first?: VoiceInput; energy?: boolean } = {}) {
  const listener = new Listener();
  let endpointer: ScriptedEndpointer | undefined;
  let created = 0;
  const intake = new AudioIntake(
    o.first ?? voice(SILENCE),
    {
      fallbackSampleRate: 8000,
      preRollMs: 100,
      captureSpeech: true,
      expect: speech({}),
      noBargeInUntil: 0,
      promptsEndAt: 0,
      endpointer: (rate, l) => {
        created++;
        if (o.energy) return new EnergyEndpointer(rate, { thresholdDbfs: -40, startDebounceMs: 40, endSilenceMs: 100 }, l);
        return (endpointer = new ScriptedEndpointer(rate, l));
      },
      ...o,
    },
    listener,
  );
  const push = (f: Uint8Array, times = 1) => {
    for (let i = 0; i < times; i++) intake.push(f);
  };
  return { intake, listener, ep: () => endpointer!, created: () => created, push };
}

beforeEach(() => {
  jest.useFakeTimers({ now: NOW });
});
afterEach(() => jest.useRealTimers());

describe('AudioIntake: format', () => {
  it('takes the declared format, or µ-law at the fallback rate when unset', () => {
    const a = open({ first: voice(SILENCE, ENC.LINEAR16_FORMAT, 16000) }).intake;
    expect([a.encoding, a.sampleRate]).toEqual(['linear16', 16000]);
    const b = open({ first: voice(SILENCE, ENC.UNSPECIFIED_FORMAT, 0), fallbackSampleRate: 16000 }).intake;
    expect([b.encoding, b.sampleRate]).toEqual(['mulaw', 16000]);
  });

  it('refuses an encoding or a rate it cannot take', () => {
    expect(() => open({ first: voice(SILENCE, 9 as ENC) })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(() => open({ first: voice(SILENCE, ENC.ALAW_FORMAT, 44100) })).toThrow(/44100/);
  });

  it('later frames keep the RPC\'s format; unset fields keep it too', () => {
    const { intake } = open({ first: voice(SILENCE, ENC.ALAW_FORMAT, 8000) });
    expect(intake.frameError(voice(SILENCE, 0, 0))).toBeUndefined();
    expect(intake.frameError(voice(SILENCE, ENC.ALAW_FORMAT, 8000))).toBeUndefined();
    expect(intake.frameError(voice(SILENCE, ENC.MULAW_FORMAT, 0))?.code).toBe('invalid_argument');
    expect(intake.frameError(voice(SILENCE, 0, 16000))?.message).toMatch(/format changed/);
  });

  it('refuses frames over one second of the RPC\'s format and LINEAR16 frames cut inside a sample, the first one too', () => {
    const { intake } = open({ first: voice(SILENCE, ENC.MULAW_FORMAT, 8000) });
    expect(intake.frameError(voice(new Uint8Array(8000), 0, 0))).toBeUndefined();
    expect(intake.frameError(voice(new Uint8Array(8001), 0, 0))?.message).toMatch(/8001 bytes is longer than 1000 ms of mulaw at 8000 Hz/);
    const l16 = open({ first: voice(new Uint8Array(320), ENC.LINEAR16_FORMAT, 16000) }).intake;
    expect(l16.frameError(voice(new Uint8Array(32000), 0, 0))).toBeUndefined();
    expect(l16.frameError(voice(new Uint8Array(32002), 0, 0))?.code).toBe('invalid_argument');
    expect(l16.frameError(voice(new Uint8Array(321), 0, 0))?.message).toMatch(/not a whole number of 16-bit samples/);
    expect(() => open({ first: voice(new Uint8Array(321), ENC.LINEAR16_FORMAT, 8000) })).toThrow(/not a whole number/);
    expect(() => open({ first: voice(new Uint8Array(4 * 1024 * 1024), ENC.ALAW_FORMAT, 8000) })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });

  it('16-bit frames are decoded two bytes a sample', () => {
    const { intake, ep } = open({ first: voice(SILENCE, ENC.LINEAR16_FORMAT, 8000) });
    intake.push(new Uint8Array(320));
    expect(ep().heard).toBe(160);
  });
});

describe('AudioIntake: gateway endpointing', () => {
  it('with the energy endpointer: start, then the utterance (pre-roll included) at the end of speech', () => {
    const { push, listener } = open({ energy: true });
    push(SILENCE, 10);
    push(SPEECH, 1);
    expect(listener.events).toEqual([]);
    push(SPEECH, 1); // 40 ms of speech: started
    expect(listener.events).toEqual(['start']);
    push(SPEECH, 20);
    push(SILENCE, 4);
    expect(listener.events).toEqual(['start']);
    push(SILENCE, 1); // 100 ms of silence: over
    expect(listener.events).toEqual(['start', 'utterance']);
    const u = listener.utterances[0];
    expect(u).toMatchObject({ kind: 'speech', sampleRate: 8000, languageCode: 'en-US' });
    // the 22 speech frames, the 5 silent ones that ended it, and the pre-roll before the start (100 ms)
    expect(u.audio.length).toBe(FRAME * (22 + 5) + 800 - 2 * FRAME);
    expect(u.durationMs).toBe((u.audio.length * 1000) / 8000);
  });

  it('the utterance is converted once to the rate the agent asked for', () => {
    const { push, listener } = open({ energy: true, agentRate: 16000 });
    push(SPEECH, 10);
    push(SILENCE, 5);
    const u = listener.utterances[0];
    expect(u.sampleRate).toBe(16000);
    expect(u.audio.length).toBeGreaterThan(FRAME * 2 * 10);
  });

  it('an agent that does not listen gets no audio, but the utterance\'s length', () => {
    const { push, listener, ep } = open({ captureSpeech: false });
    ep().at(320, SpeechEvent.Started).at(1600, SpeechEvent.Ended);
    push(SPEECH, 10);
    expect(listener.utterances[0].audio.length).toBe(0);
    expect(listener.utterances[0].durationMs).toBe(160); // from sample 320 to 1600
  });
});

describe('AudioIntake: the answer\'s end silence', () => {
  const endSilenceOf = (over: Partial<ResolvedInput['speech']>) => {
    const asked: Array<number | undefined> = [];
    open({ expect: speech(over), endpointer: (rate, l, endSilenceMs) => (asked.push(endSilenceMs), new ScriptedEndpointer(rate, l)) });
    return asked;
  };

  it('the endpointer gets the end silence the answer asked for; none: the configured one', () => {
    expect(endSilenceOf({ endSilenceMs: 300 })).toEqual([300]);
    expect(endSilenceOf({})).toEqual([undefined]);
    expect(endSilenceOf({ endSilenceMs: 0 })).toEqual([undefined]);
  });
});

describe('AudioIntake: prompts that cannot be barged in, and one origin for positions', () => {
  it('does not listen while such a prompt plays', () => {
    const { push, ep } = open({ noBargeInUntil: NOW + 100 }); // 800 samples
    push(SPEECH, 5);
    expect(ep().heard).toBe(0);
    push(SPEECH, 1);
    expect(ep().heard).toBe(FRAME);
  });

  it('max speech counts from where the endpointer heard the start, in the RPC\'s positions', () => {
    // Deaf for the first 800 samples; the endpointer's sample 160 is the intake's 960; 100 ms max is 800 samples.
    const { push, ep, listener } = open({ noBargeInUntil: NOW + 100, expect: speech({ maxSpeechMs: 100 }) });
    ep().at(FRAME, SpeechEvent.Started);
    push(SPEECH, 10); // 1600 samples
    expect(listener.events).toEqual(['start']);
    push(SPEECH, 1); // 1760 = 960 + 800
    expect(listener.events).toEqual(['start', 'utterance']);
  });

  it('after the input concluded, audio is heard only while the reply may be barged in on', () => {
    const { push, ep, intake, listener } = open({ noBargeInUntil: NOW + 10_000 });
    intake.conclude();
    push(SPEECH, 2);
    expect(ep().heard).toBe(0);
    listener.bargeable = true;
    ep().at(2 * FRAME, SpeechEvent.Started);
    push(SPEECH, 2); // the old prompt's deafness no longer applies: the reply is a new one
    expect(listener.events).toEqual(['barge_in']);
    listener.bargeable = false;
    ep().at(3 * FRAME, SpeechEvent.Ended).at(3 * FRAME, SpeechEvent.Started);
    listener.bargeable = true;
    push(SPEECH, 1);
    expect(listener.events).toEqual(['barge_in', 'barge_in']);
    // A decision that arrives once the reply can no longer be barged in (its last prompt went out) is not one.
    listener.bargeable = false;
    ep().listener(SpeechEvent.Started, 4 * FRAME);
    expect(listener.events).toEqual(['barge_in', 'barge_in']);
  });
});

describe('AudioIntake: no-input and max-speech timers', () => {
  it('no-input on audio positions, counted from the end of the prompts', () => {
    const { push, listener } = open({ promptsEndAt: NOW + 100, expect: speech({ noInputTimeoutMs: 100 }) });
    push(SILENCE, 9);
    expect(listener.events).toEqual([]);
    push(SILENCE, 1); // 1600 samples: 800 of prompt, 800 of silence
    expect(listener.events).toEqual(['no_input']);
    jest.advanceTimersByTime(10_000);
    push(SILENCE, 100);
    expect(listener.events).toEqual(['no_input']);
  });

  it('no-input on the clock when the client stops sending, with the slack', () => {
    const { listener } = open({ promptsEndAt: NOW + 100, expect: speech({ noInputTimeoutMs: 100 }) });
    jest.advanceTimersByTime(200 + CLOCK_SLACK_MS - 1);
    expect(listener.events).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(listener.events).toEqual(['no_input']);
  });

  it('the slack lets positions decide while audio keeps coming, even a little late', () => {
    const { push, listener, ep } = open({ expect: speech({ noInputTimeoutMs: 100 }) });
    ep().at(700, SpeechEvent.Started); // before the 800th sample: in time
    // Frames arrive 24 ms apart instead of 20: by the clock 100 ms pass before 100 ms of audio did.
    for (let i = 0; i < 5; i++) {
      jest.advanceTimersByTime(24);
      push(SPEECH);
    }
    expect(listener.events).toEqual(['start']);
  });

  it('speech stops the no-input timer; no no-input while speaking', () => {
    const { push, listener, ep } = open({ expect: speech({ noInputTimeoutMs: 100 }) });
    ep().at(FRAME, SpeechEvent.Started);
    push(SPEECH, 1);
    push(SPEECH, 20);
    jest.advanceTimersByTime(10_000);
    expect(listener.events).toEqual(['start']);
  });

  it('max speech on the clock when the client stops sending mid-utterance', () => {
    const { push, listener, ep } = open({ expect: speech({ maxSpeechMs: 100 }) });
    ep().at(2 * FRAME, SpeechEvent.Started);
    push(SPEECH, 2); // started at 320; 800 samples left at sample 320
    jest.advanceTimersByTime(100 + CLOCK_SLACK_MS - 1);
    expect(listener.events).toEqual(['start']);
    jest.advanceTimersByTime(1);
    expect(listener.events).toEqual(['start', 'utterance']);
  });

  it('max speech on audio positions', () => {
    const { push, listener, ep } = open({ expect: speech({ maxSpeechMs: 100 }) });
    ep().at(FRAME, SpeechEvent.Started);
    push(SPEECH, 5);
    expect(listener.events).toEqual(['start']);
    push(SPEECH, 1); // 960 = 160 + 800
    expect(listener.events).toEqual(['start', 'utterance']);
    jest.advanceTimersByTime(10_000);
    expect(listener.events).toEqual(['start', 'utterance']);
  });
});

describe('AudioIntake: half-close, idle client, close', () => {
  it('flush waits for the endpointer\'s decisions, then says whether the caller is speaking', async () => {
    const { push, intake, ep, listener } = open();
    let release!: () => void;
    ep().flushGate = new Promise<void>((r) => (release = r));
    push(SPEECH, 2);
    const speaking = intake.flush();
    ep().listener(SpeechEvent.Started, FRAME); // a decision that was on its way
    release();
    await expect(speaking).resolves.toBe(true);
    intake.finishUtterance();
    expect(listener.events).toEqual(['start', 'utterance']);
    await expect(intake.flush()).resolves.toBe(false);
  });

  it('closed: no decision, no timer, the endpointer closed', () => {
    const { push, intake, ep, listener } = open({ expect: speech({ noInputTimeoutMs: 100 }) });
    ep().at(FRAME, SpeechEvent.Started);
    intake.close();
    expect(ep().closed).toBe(true);
    push(SPEECH, 3);
    ep().listener(SpeechEvent.Started, 0);
    jest.advanceTimersByTime(10_000);
    expect(listener.events).toEqual([]);
    expect(ep().heard).toBe(0);
  });

  it('records the caller\'s audio, sensitive as the last answer asked', () => {
    const pushed: number[] = [];
    const record = jest.fn(() => ({ push: (pcm: Int16Array) => pushed.push(pcm.length) }) as unknown as RecordedInput);
    const { push } = open({ record, expect: { ...speech({}), sensitive: true } });
    push(SILENCE, 2);
    expect(record).toHaveBeenCalledWith(8000, true, NOW);
    expect(pushed).toEqual([FRAME, FRAME]);
  });
});

describe('AudioIntake: an agent that endpoints', () => {
  it('forwards every frame (converted to the agent\'s rate), no endpointer, no timers', () => {
    const got: number[] = [];
    const { push, created, listener } = open({ forward: (pcm) => got.push(pcm.length), agentRate: 16000, expect: speech({ noInputTimeoutMs: 100, maxSpeechMs: 100 }) });
    push(SPEECH, 50);
    jest.advanceTimersByTime(10_000);
    expect(created()).toBe(0);
    expect(listener.events).toEqual([]);
    const total = got.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(2 * FRAME * 49);
    expect(total).toBeLessThanOrEqual(2 * FRAME * 50);
  });

  it('forwards at the caller\'s rate when the agent asked for none, and still after the input concluded', () => {
    const got: number[] = [];
    const { push, intake } = open({ forward: (pcm) => got.push(pcm.length) });
    push(SPEECH, 1);
    intake.conclude();
    push(SPEECH, 1);
    expect(got).toEqual([FRAME, FRAME]);
  });
});
