import {
  DeleteSessionCommand,
  type DeleteSessionCommandInput,
  LexRuntimeV2Client,
  RecognizeUtteranceCommand,
  type RecognizeUtteranceCommandInput,
  type RecognizeUtteranceCommandOutput,
  type Interpretation,
  type Message,
  type SessionState,
} from '@aws-sdk/client-lex-runtime-v2';
import { NodeHttp2Handler } from '@smithy/node-http-handler';
import { type AudioFormat, encodeFromPcm16, resamplePcm16 } from '@app/audio';
import { decodeLexField, decodeLexText, encodeLexField } from '../lex-session';
import type { LexRuntime, LexRuntimeSettings, LexSessionRef, RecognizeRequest, RecognizeResult } from './lex-runtime';

const LEX_PCM_RATE = 16000;

/**
 * The SDK resolves a command's middleware stack on every send() given per-call options (in the Lex bench about 3%
 * of the gateway's CPU and 7% of its allocations); with `cacheMiddleware` it does so once per command type, but then a
 * call's abort signal cannot ride in its options. So each request's signal is looked up by its command input and
 * handed to the HTTP/2 handler with the request as signed.
 */
const signalOfInput = new WeakMap<object, AbortSignal>();
const SIGNAL = Symbol('byova.lexAbortSignal');
type Handle = NodeHttp2Handler['handle'];
type SignalledRequest = Parameters<Handle>[0] & { [SIGNAL]?: AbortSignal };

/** The client's HTTP/2 handler, given each request's own abort signal. */
class PerRequestAbortHandler {
  readonly metadata: NodeHttp2Handler['metadata'];

  constructor(private readonly inner: NodeHttp2Handler) {
    this.metadata = inner.metadata;
  }

  handle(request: SignalledRequest, options: Parameters<Handle>[1] = {}): ReturnType<Handle> {
    const abortSignal = request[SIGNAL];
    return this.inner.handle(request, abortSignal === undefined ? options : { ...options, abortSignal });
  }

  updateHttpClientConfig(...a: Parameters<NodeHttp2Handler['updateHttpClientConfig']>): void {
    this.inner.updateHttpClientConfig(...a);
  }

  httpHandlerConfigs(): ReturnType<NodeHttp2Handler['httpHandlerConfigs']> {
    return this.inner.httpHandlerConfigs();
  }

  destroy(): void {
    this.inner.destroy();
  }
}

/** Lex's runtime API through the AWS SDK v3 client. */
export class SdkLexRuntime implements LexRuntime {
  // Our own retry policy governs: the SDK's would multiply the attempts and ignore the turn budget.
  private readonly client: LexRuntimeV2Client;

  constructor(private readonly s: LexRuntimeSettings) {
    this.client = new LexRuntimeV2Client({
      region: s.region,
      endpoint: s.endpoint,
      maxAttempts: 1,
      cacheMiddleware: true,
      // The client's default opens an HTTP/2 connection per request (TCP and TLS handshakes every turn, for its
      // bidirectional StartConversation). Connections are kept and reused instead, one request at a time on each:
      // calls' replies multiplexed on one connection would wait on each other in its flow-control window.
      requestHandler: new PerRequestAbortHandler(new NodeHttp2Handler({ disableConcurrentStreams: false, maxConcurrentStreams: 1 })),
    });
    // Innermost: the request here is the one signed and sent.
    this.client.middlewareStack.add(
      (next) => (args) => {
        const signal = signalOfInput.get(args.input as object);
        const request = (args as { request?: SignalledRequest }).request;
        if (signal !== undefined && request !== undefined) request[SIGNAL] = signal;
        return next(args);
      },
      { step: 'deserialize', priority: 'low', name: 'byovaPerRequestAbort' },
    );
  }

  async recognize(req: RecognizeRequest, signal: AbortSignal): Promise<RecognizeResult> {
    const input: RecognizeUtteranceCommandInput = {
      botId: req.botId,
      botAliasId: req.botAliasId,
      localeId: req.localeId,
      sessionId: req.sessionId,
      requestContentType: req.contentType,
      responseContentType: 'audio/pcm',
      sessionState: encodeLexField(req.sessionState),
      inputStream: req.body,
    };
    signalOfInput.set(input, signal);
    let r: RecognizeUtteranceCommandOutput;
    try {
      r = await this.client.send(new RecognizeUtteranceCommand(input));
    } finally {
      // The cached handler keeps the first command it was resolved for: its caller audio and session attributes
      // must not stay in memory with it for the life of the process.
      input.inputStream = undefined;
      input.sessionState = undefined;
    }
    // Read the body inside the attempt: a stalled body is a failed attempt too.
    const pcm = r.audioStream ? await r.audioStream.transformToByteArray() : undefined;
    return {
      inputTranscript: decodeLexText(r.inputTranscript),
      messages: decodeLexField<Message[]>(r.messages) ?? [],
      interpretations: decodeLexField<Interpretation[]>(r.interpretations) ?? [],
      sessionState: decodeLexField<SessionState>(r.sessionState),
      audio: pcm?.length ? lexAudioToPrompt(pcm, this.s.promptFormat) : undefined,
    };
  }

  async deleteSession(ref: LexSessionRef, signal: AbortSignal): Promise<void> {
    const input: DeleteSessionCommandInput = { ...ref };
    signalOfInput.set(input, signal);
    await this.client.send(new DeleteSessionCommand(input));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/** Lex's 16 kHz little-endian PCM, converted once to the prompt format. */
export function lexAudioToPrompt(pcmBytes: Uint8Array, f: AudioFormat): Uint8Array {
  const n = pcmBytes.length >> 1;
  let samples: Int16Array;
  if ((pcmBytes.byteOffset & 1) === 0 && LITTLE_ENDIAN) samples = new Int16Array(pcmBytes.buffer, pcmBytes.byteOffset, n);
  else {
    samples = new Int16Array(n);
    const view = new DataView(pcmBytes.buffer, pcmBytes.byteOffset, n * 2);
    for (let i = 0; i < n; i++) samples[i] = view.getInt16(i * 2, true);
  }
  const resampled = f.sampleRate === LEX_PCM_RATE ? samples : resamplePcm16(samples, LEX_PCM_RATE, f.sampleRate);
  return encodeFromPcm16(resampled, f.encoding);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
