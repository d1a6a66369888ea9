import { type AudioEncoding, decodeToPcm16, Pcm16StreamResampler, resamplePcm16 } from '@app/audio';
import type { CallerInput } from '@app/connector-sdk';
import { SpeechEvent, type SpeechEndpointer, type SpeechEventListener } from '@app/endpointing';
import { VoiceInput_VoiceEncoding, type VoiceInput } from '@app/proto';
import type { CallerInput as RecordedInput } from '@app/recording';
import { EngineError } from '../engine-error';
import type { ResolvedInput } from '../next-input';
import { UtteranceBuffer } from '../utterance-buffer';

const ENCODINGS: Record<number, AudioEncoding | undefined> = {
  [VoiceInput_VoiceEncoding.UNSPECIFIED_FORMAT]: 'mulaw',
  [VoiceInput_VoiceEncoding.LINEAR16_FORMAT]: 'linear16',
  [VoiceInput_VoiceEncoding.MULAW_FORMAT]: 'mulaw',
  [VoiceInput_VoiceEncoding.ALAW_FORMAT]: 'alaw',
};
const SUPPORTED_RATES = new Set([8000, 16000]);
const NO_AUDIO = new Int16Array(0);
/**
 * Clock timers back up the audio-position timers for a client that stops sending; the slack lets the
 * position, which is what the endpointer heard, decide whenever audio keeps coming.
 */
export const CLOCK_SLACK_MS = 250;

/** The longest audio frame accepted: one second (WxCC sends 20-100 ms); more is refused rather than processed at length. */
export const MAX_FRAME_MS = 1000;

/** A frame longer than MAX_FRAME_MS, or LINEAR16 cut inside a sample, is refused (never truncated). */
function frameSizeError(bytes: number, encoding: AudioEncoding, sampleRate: number): EngineError | undefined {
  const bytesPerSample = encoding === 'linear16' ? 2 : 1;
  if (bytes > (sampleRate * bytesPerSample * MAX_FRAME_MS) / 1000) {
    return EngineError.invalidArgument(`audio frame of ${bytes} bytes is longer than ${MAX_FRAME_MS} ms of ${encoding} at ${sampleRate} Hz`);
  }
  if (bytesPerSample === 2 && (bytes & 1) !== 0) return EngineError.invalidArgument(`LINEAR16 audio frame of ${bytes} bytes is not a whole number of 16-bit samples`);
  return undefined;
}

/** What the intake decides; the turn turns it into responses and agent calls. */
export interface IntakeListener {
  /** Gateway endpointing: the caller started speaking. */
  speechStarted(): void;
  /** Gateway endpointing: the utterance is over (end of speech, max speech reached, or half-close). */
  utterance(input: Extract<CallerInput, { kind: 'speech' }>): void;
  /** The caller said nothing within the no-input time. */
  noInput(): void;
  /** Speech started after the input concluded, while the reply may be barged in on. */
  bargeIn(): void;
  /** Whether speech now would barge in on the reply being sent (checked only after the input concluded). */
  readonly bargeable: boolean;
}

export interface IntakeOptions {
  fallbackSampleRate: number;
  preRollMs: number;
  /** Whose endpointing: the gateway's endpointer, or the agent's (audio goes to `forward`). */
  forward?: (pcm: Int16Array) => void;
  /** Rate the agent wants audio at (16-bit PCM); undefined: the caller's. */
  agentRate?: number;
  /** Collect utterance audio (the agent listens to it). */
  captureSpeech: boolean;
  expect: ResolvedInput;
  /** Epoch ms until which prompts that cannot be barged in play, and until all prompts have played. */
  noBargeInUntil: number;
  promptsEndAt: number;
  /** `endSilenceMs`: the end silence the answer before this input asked for; unset: the configured one. */
  endpointer(sampleRate: number, listener: SpeechEventListener, endSilenceMs?: number): SpeechEndpointer | undefined;
  record?(sampleRate: number, sensitive: boolean, now: number): RecordedInput | undefined;
}

/**
 * One RPC's caller audio: its format, the endpointing (or the stream to an agent that endpoints), barge-in
 * deafness during prompts, and the no-input and max-speech timers, which run on audio positions and, for a
 * client that stops sending, on the clock. Per frame: no logging and no allocation beyond buffer growth.
 */
export class AudioIntake {
  readonly encodingCode: number;
  readonly encoding: AudioEncoding;
  readonly sampleRate: number;
  private readonly languageCode: string;
  private readonly endpointer?: SpeechEndpointer;
  private readonly utteranceBuf?: UtteranceBuffer;
  private readonly record?: RecordedInput;
  private readonly toAgent?: Pcm16StreamResampler;
  private scratch = new Int16Array(0);
  /** Samples received in this RPC. */
  private samples = 0;
  /** Position (in received samples) of the endpointer's first sample: its positions count from there. */
  private listenedFrom = -1;
  private speaking = false;
  private speechStartSample = 0;
  /** Audio up to here falls inside a prompt that cannot be barged in. */
  private readonly deafUntilSample: number;
  /** The no-input timer starts when the prompts have played. */
  private readonly promptEndSample: number;
  private readonly noInputSamples: number;
  private readonly maxSpeechSamples: number;
  private clock?: NodeJS.Timeout;
  /** The input is over: frames only matter for barge-in on the reply. */
  private concluded = false;
  private closed = false;
  private flushed = false;

  /** Opens from the RPC's first audio frame; throws EngineError for a format the gateway cannot take. */
  constructor(first: VoiceInput, private readonly o: IntakeOptions, private readonly listener: IntakeListener) {
    const encoding = ENCODINGS[first.encoding];
    if (encoding === undefined) throw EngineError.invalidArgument(`unsupported audio encoding ${first.encoding}: use LINEAR16_FORMAT, MULAW_FORMAT or ALAW_FORMAT`);
    const sampleRate = first.sampleRateHertz || o.fallbackSampleRate;
    if (!SUPPORTED_RATES.has(sampleRate)) throw EngineError.invalidArgument(`unsupported sample rate ${sampleRate} Hz: use 8000 or 16000`);
    const sizeError = frameSizeError(first.callerAudio.length, encoding, sampleRate);
    if (sizeError) throw sizeError;
    this.encodingCode = first.encoding;
    this.encoding = encoding;
    this.sampleRate = sampleRate;
    this.languageCode = first.languageCode;
    const perMs = sampleRate / 1000;
    // Prompt playback is wall-clock time from the reply; turned into audio positions once, not per frame.
    const now = Date.now();
    const promptLeftMs = Math.max(0, o.promptsEndAt - now);
    this.deafUntilSample = Math.max(0, o.noBargeInUntil - now) * perMs;
    this.promptEndSample = promptLeftMs * perMs;
    this.noInputSamples = Math.round(o.expect.speech.noInputTimeoutMs * perMs);
    this.maxSpeechSamples = Math.round(o.expect.speech.maxSpeechMs * perMs);
    if (o.forward) {
      if (o.agentRate !== undefined && o.agentRate !== sampleRate) this.toAgent = new Pcm16StreamResampler(sampleRate, o.agentRate);
    } else {
      // Only a positive number replaces the configured end silence (a plugin's value is not validated elsewhere).
      const endSilence = o.expect.speech.endSilenceMs;
      this.endpointer = o.endpointer(sampleRate, (event, at) => this.onSpeech(event, at), endSilence != null && endSilence > 0 ? endSilence : undefined);
      // Only agents that listen to the caller's audio get it collected.
      if (o.captureSpeech) this.utteranceBuf = new UtteranceBuffer(Math.round(o.preRollMs * perMs), sampleRate * 5);
    }
    // The answer before this input decides whether it may be recorded (input_sensitive).
    this.record = o.record?.(sampleRate, o.expect.sensitive, now);
    if (this.noInputSamples > 0 && !o.forward) this.armClock(promptLeftMs + o.expect.speech.noInputTimeoutMs, () => this.fireNoInput());
  }

  /**
   * What is wrong with a later frame, if anything: it must keep the RPC's format (0 = unset, keeps it) and be
   * a whole number of samples, at most one second long. Per frame: a few comparisons, nothing allocated.
   */
  frameError(v: VoiceInput): EngineError | undefined {
    if ((v.encoding !== 0 && v.encoding !== this.encodingCode) || (v.sampleRateHertz !== 0 && v.sampleRateHertz !== this.sampleRate)) {
      return EngineError.invalidArgument(
        `audio format changed within the RPC: encoding ${v.encoding} at ${v.sampleRateHertz} Hz after encoding ${this.encodingCode} at ${this.sampleRate} Hz`,
      );
    }
    return frameSizeError(v.callerAudio.length, this.encoding, this.sampleRate);
  }

  get isSpeaking(): boolean {
    return this.speaking;
  }

  push(bytes: Uint8Array): void {
    if (this.closed) return;
    const need = this.encoding === 'linear16' ? bytes.length >> 1 : bytes.length;
    // Exactly sized, so decoding returns the buffer itself (frames of an RPC are normally all one size).
    if (need !== this.scratch.length) this.scratch = new Int16Array(need);
    const pcm = decodeToPcm16(bytes, this.encoding, this.scratch);
    this.record?.push(pcm);
    const from = this.samples;
    this.samples += pcm.length;
    if (this.o.forward) {
      this.o.forward(this.toAgent ? this.toAgent.push(pcm) : pcm);
      return;
    }
    if (this.concluded) {
      // Only listened to for barge-in on a reply that allows it; otherwise dropped at once.
      if (this.listener.bargeable) this.listen(pcm, from);
      return;
    }
    // Capture first, so a start decided on this frame finds it in the pre-roll.
    const u = this.utteranceBuf;
    if (u !== undefined) {
      if (this.speaking) u.append(pcm);
      else u.remember(pcm);
    }
    // While a prompt that cannot be barged in plays, the caller's audio is not listened to.
    if (this.samples > this.deafUntilSample) this.listen(pcm, from);
    if (this.concluded) return; // the endpointer ended the input
    if (this.speaking) {
      if (this.maxSpeechSamples > 0 && this.samples - this.speechStartSample >= this.maxSpeechSamples) this.endOfInput();
    } else if (this.noInputSamples > 0 && this.samples - this.promptEndSample >= this.noInputSamples) {
      this.fireNoInput();
    }
  }

  private listen(pcm: Int16Array, from: number): void {
    if (this.listenedFrom < 0) this.listenedFrom = from;
    this.endpointer!.push(pcm);
  }

  /** The client half-closed: resolves once decisions on the audio so far are in. True if the caller was speaking. */
  async flush(): Promise<boolean> {
    if (!this.flushed && this.endpointer?.flush) {
      this.flushed = true;
      await this.endpointer.flush();
    }
    return this.speaking && !this.concluded && !this.closed;
  }

  /** Ends the utterance in progress (half-close, idle client). */
  finishUtterance(): void {
    if (this.speaking && !this.concluded) this.endOfInput();
  }

  /** The input is over (answered, or ended by an event): stop the timers; later frames are for barge-in only. */
  conclude(): void {
    this.concluded = true;
    this.speaking = false;
    this.clearClock();
    this.utteranceBuf?.take();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearClock();
    this.endpointer?.close();
  }

  private onSpeech(event: SpeechEvent, atSample: number): void {
    if (this.closed) return;
    if (this.concluded) {
      if (event === SpeechEvent.Started && this.listener.bargeable) this.listener.bargeIn();
      return;
    }
    if (event === SpeechEvent.Started) {
      if (this.speaking) return;
      this.speaking = true;
      this.utteranceBuf?.begin();
      // Endpointer positions count from the first sample it heard; the intake's from the RPC's first.
      this.speechStartSample = Math.max(0, this.listenedFrom) + atSample;
      this.clearClock();
      const max = this.o.expect.speech.maxSpeechMs;
      if (max > 0) {
        const leftMs = Math.max(0, (this.speechStartSample + this.maxSpeechSamples - this.samples) / (this.sampleRate / 1000));
        this.armClock(leftMs, () => this.endOfInput());
      }
      this.listener.speechStarted();
    } else if (this.speaking) {
      this.endOfInput();
    }
  }

  private endOfInput(): void {
    if (this.concluded || this.closed) return;
    const captured = this.utteranceBuf?.take() ?? NO_AUDIO;
    const spoken = this.utteranceBuf ? captured.length : this.samples - this.speechStartSample;
    const durationMs = (spoken * 1000) / this.sampleRate;
    this.conclude();
    // The one conversion step to the rate the connector asked for.
    const rate = this.o.agentRate ?? this.sampleRate;
    const audio = rate === this.sampleRate || captured.length === 0 ? captured : resamplePcm16(captured, this.sampleRate, rate);
    this.listener.utterance({ kind: 'speech', audio, sampleRate: rate, durationMs, languageCode: this.languageCode });
  }

  private fireNoInput(): void {
    if (this.concluded || this.closed || this.speaking) return;
    this.conclude();
    this.listener.noInput();
  }

  private armClock(ms: number, fire: () => void): void {
    this.clearClock();
    this.clock = setTimeout(fire, ms + CLOCK_SLACK_MS);
  }

  private clearClock(): void {
    if (this.clock !== undefined) clearTimeout(this.clock);
    this.clock = undefined;
  }
}
