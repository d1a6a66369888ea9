import { LexModelsV2Client, ListBotAliasesCommand, ListBotsCommand } from '@aws-sdk/client-lex-models-v2';
import {
  DeleteSessionCommand,
  LexRuntimeV2Client,
  RecognizeTextCommand,
  RecognizeUtteranceCommand,
  type RecognizeUtteranceCommandOutput,
} from '@aws-sdk/client-lex-runtime-v2';
import { NodeHttp2Handler } from '@smithy/node-http-handler';
import {
  decodeLexHeader,
  encodeLexHeader,
  FakeLexServer,
  pcmLevelDbfs,
  pcmSilence,
  pcmTone,
  TINY_BOT,
  type FakeBot,
  type Interpretation,
  type Message,
  type SessionState,
} from './index';

const LPCM_8K = 'audio/lpcm; sample-rate=8000; sample-size-bits=16; channel-count=1; is-big-endian=false';
const L16_16K = 'audio/l16; rate=16000; channels=1';
const BOT = { botId: 'BANKBOT001', botAliasId: 'LIVEALIAS1', localeId: 'en_US' };
// Fake values: the fake does not check signatures, but the SDK must sign.
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('FakeLexServer through the real AWS SDK (default HTTP/2 handler)', () => {
  let lex: FakeLexServer;
  let runtime: LexRuntimeV2Client;
  let models: LexModelsV2Client;

  const runtimeClient = (extra: Record<string, unknown> = {}) =>
    new LexRuntimeV2Client({ region: 'us-east-1', endpoint: lex.url, credentials, ...extra });

  beforeEach(async () => {
    lex = await FakeLexServer.start();
    runtime = runtimeClient();
    models = new LexModelsV2Client({ region: 'us-east-1', endpoint: lex.url, credentials });
  });
  afterEach(async () => {
    runtime.destroy();
    models.destroy();
    await lex.stop();
  });

  /** The SDK returns the compressed headers as strings; decode them as the connector must. */
  const decoded = (out: RecognizeUtteranceCommandOutput) => ({
    messages: out.messages ? decodeLexHeader<Message[]>(out.messages) : [],
    sessionState: out.sessionState ? decodeLexHeader<SessionState>(out.sessionState) : undefined,
    interpretations: out.interpretations ? decodeLexHeader<Interpretation[]>(out.interpretations) : [],
    inputTranscript: out.inputTranscript ? decodeLexHeader<string>(out.inputTranscript, false) : undefined,
    requestAttributes: out.requestAttributes ? decodeLexHeader<Record<string, string>>(out.requestAttributes) : undefined,
  });
  const audioOf = async (out: RecognizeUtteranceCommandOutput) => Buffer.from((await out.audioStream?.transformToByteArray()) ?? []);

  it('uses the SDK default handler, which is HTTP/2', async () => {
    const handler = runtime.config.requestHandler;
    expect(handler).toBeInstanceOf(NodeHttp2Handler);
    await runtime.send(new RecognizeTextCommand({ ...BOT, sessionId: 'h2-check', text: 'hello' }));
    expect(lex.requests[0].headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
  });

  it('RecognizeUtterance with 8 kHz LPCM round-trips audio, session state, attributes and messages', async () => {
    const speech = pcmTone(300, { sampleRate: 8000 });
    const state: SessionState = { sessionAttributes: { ani: '+15550100' }, dialogAction: { type: 'ElicitIntent' } };
    lex.hear('I want to book an appointment');
    const out = await runtime.send(
      new RecognizeUtteranceCommand({
        ...BOT,
        sessionId: 'call-8k',
        requestContentType: LPCM_8K,
        responseContentType: 'audio/pcm',
        sessionState: encodeLexHeader(state),
        requestAttributes: encodeLexHeader({ channel: 'wxcc' }),
        inputStream: speech,
      }),
    );

    const req = lex.calls('RecognizeUtterance')[0];
    expect(req).toMatchObject({ botId: BOT.botId, aliasId: BOT.botAliasId, localeId: 'en_US', sessionId: 'call-8k' });
    expect(req.contentType).toBe(LPCM_8K);
    expect(req.sampleRate).toBe(8000);
    expect(req.responseContentType).toBe('audio/pcm');
    expect(req.audio?.equals(speech)).toBe(true);
    expect(req.sessionState).toEqual(state);
    expect(req.requestAttributes).toEqual({ channel: 'wxcc' });

    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.contentType).toBe('audio/pcm');
    expect(out.sessionId).toBe('call-8k');
    expect(out.inputMode).toBe('Speech');
    const d = decoded(out);
    expect(d.inputTranscript).toBe('I want to book an appointment');
    expect(d.messages).toEqual([{ contentType: 'PlainText', content: TINY_BOT.askDate }]);
    expect(d.sessionState).toMatchObject({
      dialogAction: { type: 'ElicitSlot', slotToElicit: 'Date' },
      intent: { name: 'BookAppointment', state: 'InProgress' },
      sessionAttributes: { ani: '+15550100' },
    });
    expect(d.interpretations[0].intent?.name).toBe('BookAppointment');
    expect(d.requestAttributes).toEqual({ channel: 'wxcc' });
    const audio = await audioOf(out);
    expect(audio.length).toBeGreaterThan(16000 * 2 * 0.2 - 1); // >= 200 ms of 16 kHz 16-bit
    expect(audio.length % 2).toBe(0);
    expect(pcmLevelDbfs(audio)).toBeGreaterThan(-20);
  });

  it('RecognizeUtterance with 16 kHz L16 continues the stored session; silence is heard as nothing', async () => {
    lex.hear('book');
    const first = await runtime.send(
      new RecognizeUtteranceCommand({ ...BOT, sessionId: 'call-16k', requestContentType: L16_16K, responseContentType: 'audio/pcm', inputStream: pcmTone(200) }),
    );
    expect(decoded(first).sessionState?.dialogAction?.slotToElicit).toBe('Date');

    // Same client, second call: no session state sent, so the fake uses the stored one.
    lex.hear('tomorrow');
    const second = await runtime.send(
      new RecognizeUtteranceCommand({ ...BOT, sessionId: 'call-16k', requestContentType: L16_16K, responseContentType: 'audio/pcm', inputStream: pcmTone(200) }),
    );
    const d = decoded(second);
    expect(lex.calls('RecognizeUtterance')[1].sampleRate).toBe(16000);
    expect(d.sessionState).toMatchObject({ dialogAction: { type: 'Close' }, intent: { name: 'BookAppointment', state: 'Fulfilled' } });
    expect(d.sessionState?.intent?.slots?.Date?.value?.interpretedValue).toBe('tomorrow');
    expect(d.messages[0].content).toBe(TINY_BOT.booked('tomorrow'));

    const silent = await runtime.send(
      new RecognizeUtteranceCommand({ ...BOT, sessionId: 'call-16k-b', requestContentType: L16_16K, responseContentType: 'audio/pcm', inputStream: pcmSilence(300) }),
    );
    expect(decoded(silent).inputTranscript).toBe('');
    expect(lex.calls('RecognizeUtterance')[2].transcript).toBe('');
    expect(decoded(silent).sessionState?.intent?.name).toBe('FallbackIntent');
    expect(decoded(silent).messages[0].content).toBe(TINY_BOT.noInput);
  });

  it('RecognizeText and DeleteSession', async () => {
    const out = await runtime.send(
      new RecognizeTextCommand({ ...BOT, sessionId: 'text-1', text: 'hello', sessionState: { sessionAttributes: { lang: 'en' } }, requestAttributes: { a: 'b' } }),
    );
    expect(out.messages).toEqual([{ contentType: 'PlainText', content: TINY_BOT.greeting }]);
    expect(out.sessionState?.intent?.name).toBe('Greeting');
    expect(out.sessionState?.sessionAttributes).toEqual({ lang: 'en' });
    expect(out.requestAttributes).toEqual({ a: 'b' });
    expect(out.sessionId).toBe('text-1');
    expect(lex.calls('RecognizeText')[0]).toMatchObject({ text: 'hello', sessionState: { sessionAttributes: { lang: 'en' } } });
    expect(lex.getSession('text-1')).toBeDefined();

    const del = await runtime.send(new DeleteSessionCommand({ ...BOT, sessionId: 'text-1' }));
    expect(del).toMatchObject({ botId: BOT.botId, botAliasId: BOT.botAliasId, localeId: 'en_US', sessionId: 'text-1' });
    expect(lex.calls('DeleteSession')).toHaveLength(1);
    expect(lex.getSession('text-1')).toBeUndefined();
  });

  it('scripted turns override the tiny bot, and undefined falls back to it', async () => {
    lex.onTurn((t) =>
      t.input === '1234#'
        ? {
            messages: ['Thanks.', { contentType: 'SSML', content: '<speak>Bye</speak>' }],
            sessionState: { dialogAction: { type: 'Close' }, intent: { name: 'Pin', state: 'Fulfilled' } },
            audio: pcmTone(100),
          }
        : undefined,
    );
    const out = await runtime.send(
      new RecognizeUtteranceCommand({
        ...BOT,
        sessionId: 'dtmf-1',
        requestContentType: 'text/plain; charset=utf-8',
        responseContentType: 'audio/pcm',
        inputStream: Buffer.from('1234#'),
      }),
    );
    expect(out.inputMode).toBe('Text');
    expect(lex.calls('RecognizeUtterance')[0].text).toBe('1234#');
    expect(decoded(out).messages.map((m) => m.content)).toEqual(['Thanks.', '<speak>Bye</speak>']);
    expect((await audioOf(out)).length).toBe(3200);
    const text = await runtime.send(new RecognizeTextCommand({ ...BOT, sessionId: 'dtmf-2', text: 'agent' }));
    expect(text.sessionState?.intent?.name).toBe('TransferToAgent');
  });
});
