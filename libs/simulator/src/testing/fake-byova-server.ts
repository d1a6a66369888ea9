import * as grpc from '@grpc/grpc-js';
import {
  EventInput_EventType,
  listVAResponse,
  OutputEvent_EventType,
  outputEvent,
  prompt,
  virtualAgentInfo,
  VoiceVARequest,
  VoiceVAResponse,
  voiceVAResponse,
  VoiceVAResponse_ResponseType,
  VoiceVirtualAgentService,
} from '@app/proto';
import { writeWav } from '@app/audio';

// Test double of a gateway: just enough BYOVA behaviour to exercise the simulator. Not exported from the lib.

export interface RecordedRpc {
  requests: Array<{ atMs: number; req: VoiceVARequest }>;
  metadata: grpc.Metadata;
  halfClosedAtMs?: number;
  cancelled: boolean;
}

type Responder = (req: VoiceVARequest) => VoiceVAResponse[];

export const wavPrompt = (text: string, bytes = 800) =>
  prompt({ text, audioContent: writeWav(new Uint8Array(bytes).fill(0x7f), { encoding: 'mulaw', sampleRate: 8000 }) });

const signal = (type: OutputEvent_EventType) => voiceVAResponse({ outputEvents: [outputEvent({ eventType: type })] });

export class FakeByovaServer {
  readonly rpcs: RecordedRpc[] = [];
  /** END_OF_INPUT is sent once this many audio frames arrived (START_OF_INPUT after the first). */
  eoiAfterFrames = 5;
  onSessionStart: Responder = () => [voiceVAResponse({ prompts: [wavPrompt('Welcome')] })];
  onDtmf: Responder = (req) => [voiceVAResponse({ prompts: [prompt({ text: `you pressed ${req.dtmfInput?.dtmfEvents.join(',')}` })] })];
  onAudio = (frames: number): VoiceVAResponse[] => [voiceVAResponse({ prompts: [wavPrompt(`heard ${frames} frames`)] })];
  private readonly server = new grpc.Server();
  port = 0;

  async start(): Promise<this> {
    this.server.addService(VoiceVirtualAgentService, {
      listVirtualAgents: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, listVAResponse([virtualAgentInfo({ virtualAgentId: 'bot', isDefault: true }), virtualAgentInfo({ virtualAgentId: 'other' })])),
      processCallerInput: (call: grpc.ServerDuplexStream<VoiceVARequest, VoiceVAResponse>) => this.handle(call),
    });
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
    return this;
  }

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }

  private handle(call: grpc.ServerDuplexStream<VoiceVARequest, VoiceVAResponse>): void {
    const rpc: RecordedRpc = { requests: [], metadata: call.metadata, cancelled: false };
    this.rpcs.push(rpc);
    let done = false;
    let halfClosed = false;
    let frames = 0;
    // Answers at once but completes the RPC only after the client's half-close, so the test can see it.
    const finish = (responses: VoiceVAResponse[]) => {
      if (done) return;
      done = true;
      for (const r of responses) call.write(r);
      if (halfClosed) call.end();
    };
    call.on('cancelled', () => (rpc.cancelled = true));
    call.on('error', () => undefined);
    call.on('data', (req: VoiceVARequest) => {
      rpc.requests.push({ atMs: performance.now(), req });
      if (done) return;
      if (req.virtualAgentId === 'fail') {
        done = true;
        call.emit('error', { code: grpc.status.NOT_FOUND, details: 'no such agent' });
        return;
      }
      const ev = req.eventInput?.eventType;
      if (ev === EventInput_EventType.SESSION_START) finish(this.onSessionStart(req));
      else if (ev === EventInput_EventType.CUSTOM_EVENT && req.eventInput?.name === 'transfer') {
        finish([
          voiceVAResponse({
            prompts: [wavPrompt('Transferring you')],
            outputEvents: [outputEvent({ eventType: OutputEvent_EventType.TRANSFER_TO_AGENT, name: 'agent' })],
          }),
        ]);
      } else if (ev !== undefined) finish([]);
      else if (req.dtmfInput) finish(this.onDtmf(req));
      else if (req.audioInput) {
        frames++;
        if (frames === 1) call.write(signal(OutputEvent_EventType.START_OF_INPUT));
        if (frames === this.eoiAfterFrames) call.write(signal(OutputEvent_EventType.END_OF_INPUT));
      }
    });
    // The answer to caller audio goes out once the caller half-closes, as after END_OF_INPUT on WxCC.
    call.on('end', () => {
      rpc.halfClosedAtMs = performance.now();
      halfClosed = true;
      if (done) call.end();
      else finish(frames > 0 ? this.onAudio(frames) : []);
    });
  }
}

export const chunkResponse = (bytes: number, text = '') =>
  voiceVAResponse({ responseType: VoiceVAResponse_ResponseType.CHUNK, prompts: [prompt({ text, audioContent: new Uint8Array(bytes).fill(0x55) })] });
