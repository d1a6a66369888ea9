import { DeleteSessionCommand, LexRuntimeV2Client, RecognizeUtteranceCommand, type Interpretation, type Message, type SessionState } from '@aws-sdk/client-lex-runtime-v2';
import { type AudioFormat, encodeFromPcm16, resamplePcm16 } from '@app/audio';
import { decodeLexField, decodeLexText, encodeLexField } from '../lex-session';
import type { LexRuntime, LexRuntimeSettings, LexSessionRef, RecognizeRequest, RecognizeResult } from './lex-runtime';

const LEX_PCM_RATE = 16000;

/** Lex's runtime API through the AWS SDK v3 client. */
export class SdkLexRuntime implements LexRuntime {
  // Our own retry policy governs: the SDK's would multiply the attempts and ignore the turn budget.
  private readonly client: LexRuntimeV2Client;

  constructor(private readonly s: LexRuntimeSettings) {
    this.client = new LexRuntimeV2Client({
      region: s.region,
      endpoint: s.endpoint,
      maxAttempts: 1,
      // The client's default opens an HTTP/2 connection per request (TCP and TLS handshakes every turn, for its
      // bidirectional StartConversation). Connections are kept and reused instead, one request at a time on each:
      // calls' replies multiplexed on one connection would wait on each other in its flow-control window.
      requestHandler: { disableConcurrentStreams: false, maxConcurrentStreams: 1 },
    });
  }

  async recognize(req: RecognizeRequest, signal: AbortSignal): Promise<RecognizeResult> {
    const command = new RecognizeUtteranceCommand({
      botId: req.botId,
      botAliasId: req.botAliasId,
      localeId: req.localeId,
      sessionId: req.sessionId,
      requestContentType: req.contentType,
      responseContentType: 'audio/pcm',
      sessionState: encodeLexField(req.sessionState),
      inputStream: req.body,
    });
    const r = await this.client.send(command, { abortSignal: signal });
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
    await this.client.send(new DeleteSessionCommand({ ...ref }), { abortSignal: signal });
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
