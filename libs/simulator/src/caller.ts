import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import {
  DTMFDigits,
  EventInput_EventType,
  ListVARequest,
  ListVAResponse,
  OutputEvent_EventType,
  VoiceInput,
  VoiceInput_VoiceEncoding,
  VoiceVARequest,
  VoiceVAResponse,
  VoiceVirtualAgentService,
} from '@app/proto';
import { AudioEncoding, AudioFormat, encodeFromPcm16, parseWav, resamplePcm16, wavToPcm16Mono } from '@app/audio';
import { ReplyMode, TurnRecorder, TurnResult } from './turn-recorder';

export const DEFAULT_CALL_FORMAT: AudioFormat = { encoding: 'mulaw', sampleRate: 8000 };

export interface ByovaCallerOptions {
  /** host:port */
  target: string;
  /** '' = the server's default agent. */
  agentId?: string;
  /** Default: a random uuid. */
  conversationId?: string;
  customerOrgId?: string;
  /** Sent as gRPC metadata on every RPC (e.g. authorization). */
  metadata?: Record<string, string>;
  /** Default: insecure (h2c). */
  credentials?: grpc.ChannelCredentials;
  /** Per-RPC deadline. Default: none. */
  deadlineMs?: number;
  /** Format of caller audio and of raw CHUNK prompts. Default 8 kHz mu-law. */
  format?: AudioFormat;
  allowPartialResponses?: boolean;
  channelOptions?: grpc.ChannelOptions;
}

export interface SendAudioOptions {
  /** Default 20 (160 B at 8 kHz mu-law). */
  frameMs?: number;
  /** Send in real time. Default true. */
  pace?: boolean;
  /** 'first' (default): only the first frame declares encoding/sample rate, as WxCC does. */
  declareFormat?: 'first' | 'every';
  /** Silence sent after the audio until END_OF_INPUT or this runs out. Default 3000. */
  trailingSilenceMs?: number;
  /** Stop sending once END_OF_INPUT arrives. Default true. */
  stopOnEndOfInput?: boolean;
  /** Half-close once done sending. Default true. */
  halfCloseAfterSend?: boolean;
}

export interface CallerAudio {
  data: Uint8Array;
  format: AudioFormat;
}

export type DtmfTurnResult = TurnResult & { startOfDtmf: TurnResult };

/** Raw access to one ProcessCallerInput RPC. */
export interface TurnHandle {
  readonly recorder: TurnRecorder;
  /** Status received (RPC over). */
  readonly ended: boolean;
  /** Writes a request; a Uint8Array goes on the wire as-is (to test garbage). Returns false if buffered or ignored. */
  write(req: VoiceVARequest | Uint8Array): boolean;
  /** Resolves when the send buffer drained or the RPC ended. */
  drained(): Promise<void>;
  halfClose(): void;
  cancel(): void;
  onResponse(listener: (r: VoiceVAResponse) => void): void;
  readonly result: Promise<TurnResult>;
}

const ENCODINGS: Record<AudioEncoding, VoiceInput_VoiceEncoding> = {
  mulaw: VoiceInput_VoiceEncoding.MULAW_FORMAT,
  alaw: VoiceInput_VoiceEncoding.ALAW_FORMAT,
  linear16: VoiceInput_VoiceEncoding.LINEAR16_FORMAT,
};

const DTMF: Record<string, DTMFDigits> = {
  '1': DTMFDigits.DTMF_DIGIT_ONE,
  '2': DTMFDigits.DTMF_DIGIT_TWO,
  '3': DTMFDigits.DTMF_DIGIT_THREE,
  '4': DTMFDigits.DTMF_DIGIT_FOUR,
  '5': DTMFDigits.DTMF_DIGIT_FIVE,
  '6': DTMFDigits.DTMF_DIGIT_SIX,
  '7': DTMFDigits.DTMF_DIGIT_SEVEN,
  '8': DTMFDigits.DTMF_DIGIT_EIGHT,
  '9': DTMFDigits.DTMF_DIGIT_NINE,
  '0': DTMFDigits.DTMF_DIGIT_ZERO,
  A: DTMFDigits.DTMF_DIGIT_A,
  B: DTMFDigits.DTMF_DIGIT_B,
  C: DTMFDigits.DTMF_DIGIT_C,
  D: DTMFDigits.DTMF_DIGIT_D,
  '*': DTMFDigits.DTMF_DIGIT_STAR,
  '#': DTMFDigits.DTMF_DIGIT_POUND,
};

/** Maps keypad characters to BYOVA DTMF enum values; throws on anything else. */
export function dtmfDigits(digits: string): DTMFDigits[] {
  if (!digits) throw new Error('DTMF: no digits given');
  return [...digits].map((c, i) => {
    const d = DTMF[c.toUpperCase()];
    if (d === undefined) throw new Error(`DTMF: invalid character ${JSON.stringify(c)} at position ${i} (allowed 0-9, A-D, *, #)`);
    return d;
  });
}

/** Complete VoiceVARequest: ts-proto encoders need every map/repeated field present. */
export function voiceVARequest(r: Partial<VoiceVARequest>): VoiceVARequest {
  return {
    conversationId: r.conversationId ?? '',
    customerOrgId: r.customerOrgId ?? '',
    virtualAgentId: r.virtualAgentId ?? '',
    allowPartialResponses: r.allowPartialResponses ?? false,
    vendorSpecificConfig: r.vendorSpecificConfig ?? '',
    audioInput: r.audioInput,
    dtmfInput: r.dtmfInput,
    eventInput: r.eventInput,
    additionalInfo: r.additionalInfo ?? {},
  };
}

export function voiceInput(audio: Uint8Array, format?: AudioFormat): VoiceInput {
  return {
    callerAudio: audio,
    encoding: format ? ENCODINGS[format.encoding] : VoiceInput_VoiceEncoding.UNSPECIFIED_FORMAT,
    sampleRateHertz: format ? format.sampleRate : 0,
    audioTimestamp: undefined,
    languageCode: '',
    isSingleUtterance: false,
  };
}

function requestSummary(req: VoiceVARequest): string {
  if (req.eventInput) return `event ${EventInput_EventType[req.eventInput.eventType] ?? req.eventInput.eventType}${req.eventInput.name ? ` ${req.eventInput.name}` : ''}`;
  if (req.dtmfInput) return `dtmf ${req.dtmfInput.dtmfEvents.join(',')}`;
  if (req.audioInput) return `audio ${req.audioInput.callerAudio.length} B`;
  return 'empty request';
}

const tick = () => new Promise<void>((r) => setImmediate(r));

type GenericClient = grpc.Client;

/** Drives a BYOVA server the way Webex Contact Center does: one ProcessCallerInput RPC per turn. */
export class ByovaCaller {
  readonly conversationId: string;
  readonly agentId: string;
  readonly format: AudioFormat;
  /** Set by the first turn that carried prompt audio: the mode is fixed for the call. */
  private replyMode?: ReplyMode;
  private readonly client: GenericClient;

  constructor(private readonly opts: ByovaCallerOptions) {
    this.conversationId = opts.conversationId ?? randomUUID();
    this.agentId = opts.agentId ?? '';
    this.format = opts.format ?? DEFAULT_CALL_FORMAT;
    const Ctor = grpc.makeGenericClientConstructor(VoiceVirtualAgentService as unknown as grpc.ServiceDefinition, 'VoiceVirtualAgent');
    this.client = new Ctor(opts.target, opts.credentials ?? grpc.credentials.createInsecure(), opts.channelOptions);
  }

  /** A complete request carrying this call's ids. */
  request(input: Partial<VoiceVARequest> = {}): VoiceVARequest {
    return voiceVARequest({
      conversationId: this.conversationId,
      customerOrgId: this.opts.customerOrgId ?? '',
      virtualAgentId: this.agentId,
      allowPartialResponses: this.opts.allowPartialResponses ?? false,
      ...input,
    });
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(this.opts.metadata ?? {})) md.set(k, v);
    return md;
  }

  private callOptions(): grpc.CallOptions {
    return this.opts.deadlineMs ? { deadline: Date.now() + this.opts.deadlineMs } : {};
  }

  listAgents(orgId = this.opts.customerOrgId ?? ''): Promise<ListVAResponse> {
    const def = VoiceVirtualAgentService.listVirtualAgents;
    const req: ListVARequest = { customerOrgId: orgId, isDefaultVirtualAgentEnabled: true };
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, req, this.metadata(), this.callOptions(), (err, res) =>
        err || !res ? reject(err ?? new Error('no response')) : resolve(res),
      );
    });
  }

  /** Low level: opens one ProcessCallerInput RPC. */
  openTurn(label = 'raw'): TurnHandle {
    const def = VoiceVirtualAgentService.processCallerInput;
    const serialize = (v: VoiceVARequest | Uint8Array): Buffer => (v instanceof Uint8Array ? Buffer.from(v) : def.requestSerialize(v));
    const rec = new TurnRecorder(label);
    const call = this.client.makeBidiStreamRequest(def.path, serialize, def.responseDeserialize, this.metadata(), this.callOptions());
    const listeners: Array<(r: VoiceVAResponse) => void> = [];
    let ended = false;
    let halfClosed = false;
    let sentFirst = false;

    call.on('data', (r: VoiceVAResponse) => {
      rec.onResponse(r);
      for (const l of listeners) l(r);
    });
    // grpc-js emits 'error' for non-OK statuses; the status itself is what we report.
    call.on('error', () => undefined);
    const result = new Promise<TurnResult>((resolve) => {
      call.on('status', (s: grpc.StatusObject) => {
        ended = true;
        const name = grpc.status[s.code] ?? '';
        rec.mark('status', [s.code, name, s.details === name ? '' : s.details].filter((x) => x !== '').join(' '));
        // Let buffered responses reach the 'data' handler before building the result. Once only: 'end' and
        // 'close' may both fire, and finish() records the end-of-turn violations.
        let finished = false;
        const done = () => {
          if (finished) return;
          finished = true;
          const res = rec.finish({ code: s.code, details: s.details }, this.replyMode);
          this.replyMode ??= res.replyMode;
          resolve(res);
        };
        if (call.readableEnded || call.destroyed) return done();
        const timer = setTimeout(done, 100);
        const once = () => {
          clearTimeout(timer);
          done();
        };
        call.once('end', once);
        call.once('close', once);
      });
    });

    return {
      recorder: rec,
      get ended() {
        return ended;
      },
      write(req) {
        if (ended || halfClosed) {
          rec.mark('write-ignored', ended ? 'RPC already ended' : 'after half-close');
          return false;
        }
        if (req instanceof Uint8Array) rec.mark('sent', `raw ${req.length} B`);
        else if (req.audioInput) {
          rec.framesSent++;
          if (!sentFirst) rec.mark('sent-first-frame', `${req.audioInput.callerAudio.length} B`);
        } else rec.mark('sent', requestSummary(req));
        sentFirst = true;
        return call.write(req);
      },
      drained() {
        if (ended || !call.writableNeedDrain) return Promise.resolve();
        return new Promise((r) => {
          call.once('drain', r);
          void result.then(() => r());
        });
      },
      halfClose() {
        if (halfClosed || ended) return;
        halfClosed = true;
        rec.mark('half-close');
        call.end();
      },
      cancel() {
        if (ended) return;
        rec.mark('cancel');
        call.cancel();
      },
      onResponse(l) {
        listeners.push(l);
      },
      result,
    };
  }

  /** One RPC with a single event input; half-closes right after sending, like WxCC. */
  sendEvent(type: EventInput_EventType | keyof typeof EventInput_EventType, name = '', parameters?: { [key: string]: unknown }): Promise<TurnResult> {
    const eventType = typeof type === 'number' ? type : EventInput_EventType[type];
    const turn = this.openTurn(EventInput_EventType[eventType] ?? `EVENT_${eventType}`);
    turn.write(this.request({ eventInput: { eventType, name, parameters } }));
    turn.halfClose();
    return turn.result;
  }

  startSession(): Promise<TurnResult> {
    return this.sendEvent(EventInput_EventType.SESSION_START);
  }

  endSession(): Promise<TurnResult> {
    return this.sendEvent(EventInput_EventType.SESSION_END);
  }

  /** Two RPCs as WxCC does: START_OF_DTMF, then the collected digits. Returns the second with the first attached. */
  async sendDtmf(digits: string): Promise<DtmfTurnResult> {
    const dtmfEvents = dtmfDigits(digits);
    const startOfDtmf = await this.sendEvent(EventInput_EventType.START_OF_DTMF);
    const turn = this.openTurn('dtmf');
    turn.write(this.request({ dtmfInput: { dtmfEvents } }));
    turn.halfClose();
    return { ...(await turn.result), startOfDtmf };
  }

  /**
   * Streams caller audio in frames, as WxCC does: paced in real time, format declared on the first frame only,
   * trailing silence until END_OF_INPUT, then half-close and wait for the server to complete the RPC.
   */
  async sendAudio(audio: CallerAudio, opts: SendAudioOptions = {}): Promise<TurnResult> {
    const frameMs = opts.frameMs ?? 20;
    const pace = opts.pace ?? true;
    const declareEvery = (opts.declareFormat ?? 'first') === 'every';
    const trailingMs = opts.trailingSilenceMs ?? 3000;
    const stopOnEoi = opts.stopOnEndOfInput ?? true;
    const { format, data } = audio;
    const samplesPerFrame = Math.round((format.sampleRate * frameMs) / 1000);
    const frameBytes = samplesPerFrame * (format.encoding === 'linear16' ? 2 : 1);
    if (!(frameBytes > 0)) throw new Error(`sendAudio: invalid frame size (${frameMs} ms at ${format.sampleRate} Hz)`);
    const silence = encodeFromPcm16(new Int16Array(samplesPerFrame), format.encoding);
    const audioFrames = Math.ceil(data.length / frameBytes);
    const totalFrames = audioFrames + Math.ceil(trailingMs / frameMs);

    const turn = this.openTurn('audio');
    const rec = turn.recorder;
    let endOfInput = false;
    // Wakes the pacing sleep so half-close follows END_OF_INPUT (or the RPC's end) at once.
    let wake = () => undefined as void;
    turn.onResponse((r) => {
      if (r.outputEvents.some((e) => e.eventType === OutputEvent_EventType.END_OF_INPUT)) {
        endOfInput = true;
        wake();
      }
    });
    void turn.result.then(() => wake());
    const pause = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });

    const start = performance.now();
    for (let i = 0; i < totalFrames; i++) {
      // Drift-free: frame i is due at start + i * frameMs, whatever the timer jitter of earlier frames.
      if (pace) {
        const wait = start + i * frameMs - performance.now();
        if (wait > 0) await pause(wait);
      } else await tick(); // let responses (END_OF_INPUT) in between frames
      if (turn.ended) break;
      if (stopOnEoi && endOfInput) {
        rec.mark('stopped-sending', `END_OF_INPUT after ${rec.framesSent} frames`);
        break;
      }
      let payload: Uint8Array;
      if (i < audioFrames) {
        payload = data.subarray(i * frameBytes, (i + 1) * frameBytes);
        if (payload.length < frameBytes) {
          const padded = silence.slice();
          padded.set(payload);
          payload = padded;
        }
      } else {
        if (i === audioFrames && i > 0) rec.mark('sent-trailing-silence');
        payload = silence;
      }
      const declare = i === 0 || declareEvery;
      if (!turn.write(this.request({ audioInput: voiceInput(payload, declare ? format : undefined) }))) await turn.drained();
    }
    if (!turn.ended && !(stopOnEoi && endOfInput)) rec.mark('sent-all', `${rec.framesSent} frames`);
    if (opts.halfCloseAfterSend ?? true) turn.halfClose();
    return turn.result;
  }

  /** A silence-only audio turn (caller says nothing). */
  sendSilence(ms: number, opts: Omit<SendAudioOptions, 'trailingSilenceMs'> = {}, format = this.format): Promise<TurnResult> {
    return this.sendAudio({ data: new Uint8Array(0), format }, { ...opts, trailingSilenceMs: ms });
  }

  /** Reads a WAV file, converts it to the call format (default 8 kHz mu-law) and sends it as one audio turn. */
  async sendWavFile(path: string, opts: SendAudioOptions & { format?: AudioFormat } = {}): Promise<TurnResult> {
    const format = opts.format ?? this.format;
    const { samples, sampleRate } = wavToPcm16Mono(parseWav(await readFile(path)));
    const pcm = sampleRate === format.sampleRate ? samples : resamplePcm16(samples, sampleRate, format.sampleRate);
    return this.sendAudio({ data: encodeFromPcm16(pcm, format.encoding), format }, opts);
  }

  close(): void {
    this.client.close();
  }
}
