// Bench child: the baseline. A plain grpc-js server answering BYOVA turns like the gateway does
// (same responses, same energy gate), with no framework, no engine, no logging.
// With mode `chunks` (bench/chunks.ts) each answer is streamed instead: CHUNKs of tone on the chunked_reply
// plugin's schedule, each stamped just before it is written, then a FINAL without audio.
// Usage: node -r @swc-node/register bench/bare-server.ts <port> [end_silence_ms] [chunks]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  DTMFDigits,
  EventInput_EventType,
  OutputEvent_EventType,
  VoiceVAInputMode,
  VoiceVARequest,
  VoiceVAResponse,
  VoiceVAResponse_ResponseType,
  VoiceVirtualAgentService,
} from '@app/proto';
import { encodeFromPcm16 } from '@app/audio';
import { installServerChunkTimes, writeStamp } from './chunk-stamps';
import { serveChildStats } from './child-stats';
import { between, CHUNK_PLAN } from './chunk-plan';

// The repository (the parent forks its children there): this file may run from .bench-build (bench/compiled.ts).
const REPO = process.cwd();

// Same thresholds as the gateway's defaults (energy_threshold_dbfs -40, start_debounce_ms 96).
const THRESHOLD_DBFS = -40;
const START_DEBOUNCE_MS = 96;
const WINDOW_MS = 20;

/** G.711 mu-law byte to 16-bit PCM, once for all 256 codes. */
const MULAW = new Int16Array(256);
for (let i = 0; i < 256; i++) {
  const u = ~i & 0xff;
  const mag = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  MULAW[i] = u & 0x80 ? 0x84 - mag : mag - 0x84;
}

function response(r: Partial<VoiceVAResponse>): VoiceVAResponse {
  return {
    prompts: r.prompts ?? [],
    outputEvents: r.outputEvents ?? [],
    inputSensitive: false,
    inputMode: r.inputMode ?? VoiceVAInputMode.INPUT_VOICE_MODE_UNSPECIFIED,
    inputHandlingConfig: r.inputHandlingConfig,
    sessionTranscript: undefined,
    sessionSummary: undefined,
    responseType: r.responseType ?? VoiceVAResponse_ResponseType.FINAL,
  };
}

/** A FINAL carrying one WAV prompt and the gateway's default next-input settings. */
function finalWith(text: string, wav: Uint8Array): VoiceVAResponse {
  return response({
    prompts: [{ text, audioUri: '', audioContent: wav, isBargeInEnabled: true }],
    inputMode: VoiceVAInputMode.INPUT_VOICE_DTMF,
    inputHandlingConfig: {
      dtmfConfig: { dtmfInputLength: 1, interDigitTimeoutMsec: 300, termchar: DTMFDigits.DTMF_DIGIT_POUND },
      speechTimers: { maxSpeechTimeoutMsec: 30_000, completeTimeoutMsec: 5000, incompleteTimeoutMsec: 0, noInputTimeoutMsec: 0 },
    },
  });
}

const WELCOME = finalWith(
  'Hello, welcome to the Webex Contact Center virtual agent gateway. How can I help you today?',
  readFileSync(resolve(REPO, 'audio/welcome.wav')),
);
const DEFAULT_TEXT = 'Thank you. I heard you. Press 5 to speak with an agent, or 6 to end the call.';
const DEFAULT = finalWith(
  DEFAULT_TEXT,
  readFileSync(resolve(REPO, 'audio/default_response.wav')),
);
const START_OF_INPUT = response({
  outputEvents: [{ eventType: OutputEvent_EventType.START_OF_INPUT, name: '', metadata: undefined }],
  responseType: VoiceVAResponse_ResponseType.PARTIAL,
});
const END_OF_INPUT = response({
  outputEvents: [{ eventType: OutputEvent_EventType.END_OF_INPUT, name: 'end_of_input', metadata: undefined }],
  responseType: VoiceVAResponse_ResponseType.PARTIAL,
});

/** The chunked answer's FINAL: no prompt, what to collect next. */
const CHUNKED_FINAL: VoiceVAResponse = { ...finalWith('', new Uint8Array(0)), prompts: [] };

/** A 440 Hz tone, 8 kHz mu-law, long enough for the longest piece. */
const TONE = encodeFromPcm16(
  Int16Array.from({ length: (8000 * CHUNK_PLAN.chunkMsMax) / 1000 }, (_, i) => Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / 8000))),
  'mulaw',
);

/**
 * Streams one answer as the chunked_reply plugin does (count, lengths and delays drawn from CHUNK_PLAN, the
 * first delay fixed), then its FINAL; calls `done` after. Stops quietly when `alive()` turns false.
 */
function streamChunks(call: grpc.ServerDuplexStream<VoiceVARequest, VoiceVAResponse>, text: string, alive: () => boolean, done: () => void): void {
  const count = Math.floor(between(CHUNK_PLAN.countMin, CHUNK_PLAN.countMax + 1));
  let i = 0;
  const next = () => {
    if (!alive()) return;
    if (i === count) {
      call.write(CHUNKED_FINAL);
      return done();
    }
    const data = TONE.slice(0, Math.round((8000 * between(CHUNK_PLAN.chunkMsMin, CHUNK_PLAN.chunkMsMax)) / 1000));
    const prompt = { text: i === 0 ? text : '', audioUri: '', audioContent: data, isBargeInEnabled: true };
    writeStamp(data);
    call.write(response({ prompts: [prompt], responseType: VoiceVAResponse_ResponseType.CHUNK }));
    i++;
    setTimeout(next, i === count ? 0 : between(CHUNK_PLAN.delayMsMin, CHUNK_PLAN.delayMsMax));
  };
  setTimeout(next, CHUNK_PLAN.delayMsMin);
}

interface Conversation {
  createdAt: number;
  turns: number;
}

/** RMS gate over 20 ms windows: started after `startWindows` loud ones, ended after `endWindows` quiet ones. */
class Gate {
  private acc = 0;
  private filled = 0;
  private run = 0;
  speaking = false;
  constructor(
    private readonly windowSize: number,
    private readonly threshold: number,
    private readonly startWindows: number,
    private readonly endWindows: number,
  ) {}

  /** Returns 1 on speech start, 2 on speech end, else 0 (at most one event per frame). */
  push(bytes: Uint8Array): number {
    let event = 0;
    for (let i = 0; i < bytes.length; i++) {
      const s = MULAW[bytes[i]];
      this.acc += s * s;
      if (++this.filled < this.windowSize) continue;
      const loud = this.acc / this.filled > this.threshold;
      this.acc = 0;
      this.filled = 0;
      if (event !== 0) continue;
      if (!this.speaking) {
        this.run = loud ? this.run + 1 : 0;
        if (this.run >= this.startWindows) {
          this.speaking = true;
          this.run = 0;
          event = 1;
        }
      } else {
        this.run = loud ? 0 : this.run + 1;
        if (this.run >= this.endWindows) {
          this.speaking = false;
          this.run = 0;
          event = 2;
        }
      }
    }
    return event;
  }
}

function main(): void {
  const port = Number(process.argv[2] ?? 0);
  const endSilenceMs = Number(process.argv[3] ?? 600);
  const chunks = process.argv[4] === 'chunks';
  if (!Number.isInteger(port) || port <= 0) throw new Error(`bad port ${process.argv[2]}`);
  if (chunks) installServerChunkTimes();
  const rms = 32768 * Math.pow(10, THRESHOLD_DBFS / 20);
  const threshold = rms * rms;
  const startWindows = Math.max(1, Math.ceil(START_DEBOUNCE_MS / WINDOW_MS));
  const endWindows = Math.max(1, Math.ceil(endSilenceMs / WINDOW_MS));
  const conversations = new Map<string, Conversation>();

  const processCallerInput = (call: grpc.ServerDuplexStream<VoiceVARequest, VoiceVAResponse>) => {
    let done = false;
    let gate: Gate | undefined;
    let capturing = false;
    /** A streamed answer is under way: the RPC completes when it is sent. */
    let replying = false;
    const finish = () => {
      if (done) return;
      done = true;
      call.end();
    };
    // Answers and completes the RPC: at once, or once the streamed answer is sent.
    const answer = (whole: VoiceVAResponse, text: string) => {
      if (!chunks) {
        call.write(whole);
        return finish();
      }
      if (replying) return;
      replying = true;
      streamChunks(call, text, () => !done, finish);
    };
    call.on('data', (req: VoiceVARequest) => {
      if (done || replying) return;
      const audio = req.audioInput;
      if (audio) {
        // Format comes from the first frame; later frames may leave it unset (mu-law 8 kHz fallback).
        gate ??= new Gate(((audio.sampleRateHertz || 8000) * WINDOW_MS) / 1000, threshold, startWindows, endWindows);
        const ev = gate.push(audio.callerAudio);
        if (ev === 1) {
          capturing = true;
          call.write(START_OF_INPUT);
        } else if (ev === 2 && capturing) {
          capturing = false;
          call.write(END_OF_INPUT);
          answer(DEFAULT, DEFAULT_TEXT);
        }
        return;
      }
      const conv = conversations.get(req.conversationId);
      if (conv) conv.turns++;
      if (req.dtmfInput) return answer(DEFAULT, 'you pressed a key');
      switch (req.eventInput?.eventType) {
        case EventInput_EventType.SESSION_START:
          if (!conv) conversations.set(req.conversationId, { createdAt: Date.now(), turns: 1 });
          return answer(WELCOME, 'chunked welcome');
        case EventInput_EventType.SESSION_END:
          conversations.delete(req.conversationId);
          return finish();
        default: // START_OF_DTMF and anything else: complete with no response
          return finish();
      }
    });
    call.on('end', () => {
      // Half-closed mid-utterance: answer what was heard, as the gateway does.
      if (capturing && !done) {
        capturing = false;
        call.write(END_OF_INPUT);
        answer(DEFAULT, DEFAULT_TEXT);
      }
      if (!replying) finish();
    });
    call.on('error', () => {
      done = true;
    });
  };

  const server = new grpc.Server();
  server.addService(VoiceVirtualAgentService as unknown as grpc.ServiceDefinition, {
    processCallerInput,
    listVirtualAgents: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
      cb(null, { virtualAgents: [{ virtualAgentId: 'bare', virtualAgentName: 'bare', isDefault: true, attributes: {} }] }),
  });
  server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) {
      process.stderr.write(`bare-server: ${err.message}\n`);
      process.exit(1);
    }
    serveChildStats();
    process.send?.({ type: 'ready', address: `127.0.0.1:${port}` });
  });
  const stop = () =>
    server.tryShutdown(() => {
      process.exit(0);
    });
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);
}

main();
