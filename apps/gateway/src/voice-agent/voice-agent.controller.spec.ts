import { status } from '@grpc/grpc-js';
import { Subject } from 'rxjs';
import { createLogger, GatewaySection } from '@app/config';
import type { ConnectorRegistry } from '@app/connector-sdk';
import { type ConversationEngine, EngineError, EngineEvents, type TurnHandle, type TurnSink } from '@app/engine';
import type { VoiceVARequest, VoiceVAResponse } from '@app/proto';
import { voiceVARequest } from '@app/simulator';
import { ResponseBacklog } from '../grpc/response-backlog';
import { DrainService } from '../lifecycle/drain.service';
import { RequestRejections } from '../rpc/request-rejections.service';
import { RpcGateway } from '../rpc/rpc-gateway.service';
import { VoiceAgentController } from './voice-agent.controller';

class FakeTurn implements TurnHandle {
  calls: string[] = [];
  constructor(readonly sink: TurnSink) {}
  request() {
    this.calls.push('request');
  }
  halfClose() {
    this.calls.push('halfClose');
  }
  cancel() {
    this.calls.push('cancel');
  }
}

function setup() {
  const turns: FakeTurn[] = [];
  const engine = { openTurn: (sink: TurnSink) => turns[turns.push(new FakeTurn(sink)) - 1] } as unknown as ConversationEngine;
  const drain = new DrainService();
  const rpc = new RpcGateway(engine, drain, createLogger('silent'), new EngineEvents(), new RequestRejections());
  const registry = { agents: () => [] } as unknown as ConnectorRegistry;
  return { turns, drain, controller: new VoiceAgentController(rpc, registry, new ResponseBacklog(new GatewaySection(), createLogger('silent'))) };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('VoiceAgentController (the gRPC adapter)', () => {
  it('a client cancellation (end of input, then unsubscription at once, as Nest reports it) cancels without a half-close', async () => {
    const { controller, turns } = setup();
    const requests = new Subject<VoiceVARequest>();
    const sub = controller.processCallerInput(requests).subscribe({ error: () => undefined });
    requests.next(voiceVARequest({ conversationId: 'c' }));
    requests.complete();
    sub.unsubscribe();
    await flush();
    expect(turns[0].calls).toEqual(['request', 'cancel']);
  });

  it('a plain half-close reaches the turn, once the current task is done', async () => {
    const { controller, turns, drain } = setup();
    const requests = new Subject<VoiceVARequest>();
    const got: VoiceVAResponse[] = [];
    let completed = false;
    controller.processCallerInput(requests).subscribe({ next: (r) => got.push(r), complete: () => (completed = true) });
    requests.next(voiceVARequest({ conversationId: 'c' }));
    requests.complete();
    expect(turns[0].calls).toEqual(['request']);
    await flush();
    expect(turns[0].calls).toEqual(['request', 'halfClose']);
    turns[0].sink.send({} as VoiceVAResponse);
    turns[0].sink.complete();
    expect([got.length, completed, drain.inflightCount]).toEqual([1, true, 0]);
    expect(turns[0].calls).toEqual(['request', 'halfClose']); // the teardown after completion cancels nothing
  });

  it('maps engine errors to their gRPC status', () => {
    const { controller, turns } = setup();
    let err: { getError(): unknown } | undefined;
    controller.processCallerInput(new Subject()).subscribe({ error: (e) => (err = e) });
    turns[0].sink.fail(EngineError.exhausted('too many'));
    const body = err?.getError();
    expect(body).toEqual({ code: status.RESOURCE_EXHAUSTED, message: 'too many' });
  });

  it('while draining, refuses ProcessCallerInput and ListVirtualAgents with UNAVAILABLE', () => {
    const { controller, drain, turns } = setup();
    drain.startDraining();
    let err: { getError(): unknown } | undefined;
    controller.processCallerInput(new Subject()).subscribe({ error: (e) => (err = e) });
    expect(err?.getError()).toEqual({ code: status.UNAVAILABLE, message: 'gateway is shutting down' });
    expect(turns).toHaveLength(0);
    expect(() => controller.listVirtualAgents({} as never)).toThrow(expect.objectContaining({ message: 'gateway is shutting down' }));
  });
});
