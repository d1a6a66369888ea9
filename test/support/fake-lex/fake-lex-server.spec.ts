import { LexModelsV2Client, ListBotAliasesCommand, ListBotsCommand } from '@aws-sdk/client-lex-models-v2';
import {
  DeleteSessionCommand,
  GetSessionCommand,
  LexRuntimeV2Client,
  PutSessionCommand,
  RecognizeTextCommand,
  RecognizeUtteranceCommand,
  type RecognizeUtteranceCommandOutput,
} from '@aws-sdk/client-lex-runtime-v2';
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

  it('runtime calls arrive over HTTP/2 (the SDK default handler), models calls over HTTP/1.1', async () => {
    // The fake is h2-only (no HTTP/1.1 fallback), so any answer also proves the SDK spoke HTTP/2.
    const handler = runtime.config.requestHandler as { metadata?: { handlerProtocol?: string } };
    expect(handler.metadata?.handlerProtocol).toBe('h2');
    await runtime.send(new RecognizeTextCommand({ ...BOT, sessionId: 'h2-check', text: 'hello' }));
    expect(lex.requests[0].headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
    expect(lex.requests[0].protocol).toBe('h2');
    // The models client's default handler is HTTP/1.1; the same port serves it.
    await models.send(new ListBotsCommand({}));
    expect(lex.requests[1]).toMatchObject({ op: 'ListBots', protocol: 'http/1.1' });
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

  it('PutSession/GetSession, and a welcome that starts an intent directly', async () => {
    const put = await runtime.send(
      new PutSessionCommand({
        ...BOT,
        sessionId: 'put-1',
        sessionState: { sessionAttributes: { account: '42' }, dialogAction: { type: 'ElicitIntent' } },
        messages: [{ contentType: 'PlainText', content: 'Welcome back.' }],
        responseContentType: 'audio/pcm',
      }),
    );
    expect(lex.calls('PutSession')[0].responseContentType).toBe('audio/pcm');
    expect(put.messages && decodeLexHeader<Message[]>(put.messages)[0].content).toBe('Welcome back.');
    expect(Buffer.from((await put.audioStream?.transformToByteArray()) ?? []).length).toBeGreaterThan(0);
    const got = await runtime.send(new GetSessionCommand({ ...BOT, sessionId: 'put-1' }));
    expect(got.sessionState?.sessionAttributes).toEqual({ account: '42' });
    await expect(runtime.send(new GetSessionCommand({ ...BOT, sessionId: 'never' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });

    const welcome = await runtime.send(
      new RecognizeTextCommand({
        ...BOT,
        sessionId: 'welcome-intent',
        text: 'hello',
        sessionState: { dialogAction: { type: 'Delegate' }, intent: { name: 'BookAppointment' } },
      }),
    );
    expect(welcome.sessionState?.dialogAction).toMatchObject({ type: 'ElicitSlot', slotToElicit: 'Date' });
    expect(welcome.messages?.[0].content).toBe(TINY_BOT.askDate);
  });

  describe('discovery (models API)', () => {
    const manyBots = (n: number): FakeBot[] =>
      Array.from({ length: n }, (_, i) => ({
        botId: `BOT${String(i).padStart(7, '0')}`,
        botName: `Bot${String(i).padStart(2, '0')}`,
        botStatus: i === 3 ? 'Creating' : 'Available',
        lastUpdatedDateTime: new Date(Date.UTC(2026, 0, 1 + i)),
        aliases: Array.from({ length: 5 }, (_, j) => ({
          botAliasId: `AL${i}X${j}`,
          botAliasName: j === 0 ? 'TestBotAlias' : `alias${j}`,
          botAliasStatus: j === 4 ? 'Failed' : 'Available',
          lastUpdatedDateTime: new Date(Date.UTC(2026, 1, 1 + j)),
        })),
      }));

    it('ListBots pages through every bot with nextToken, with statuses and dates', async () => {
      await lex.stop();
      lex = await FakeLexServer.start({ bots: manyBots(7), pageSize: 3 });
      models = new LexModelsV2Client({ region: 'us-east-1', endpoint: lex.url, credentials });
      const pages = [];
      let nextToken: string | undefined;
      do {
        const out = await models.send(new ListBotsCommand({ maxResults: 100, nextToken }));
        pages.push(out.botSummaries ?? []);
        nextToken = out.nextToken;
      } while (nextToken);
      expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
      const all = pages.flat();
      expect(all.map((b) => b.botName)).toEqual(['Bot00', 'Bot01', 'Bot02', 'Bot03', 'Bot04', 'Bot05', 'Bot06']);
      expect(all[3].botStatus).toBe('Creating');
      expect(all[0]).toMatchObject({ botId: 'BOT0000000', botStatus: 'Available', botType: 'Bot' });
      expect(all[2].lastUpdatedDateTime).toEqual(new Date(Date.UTC(2026, 0, 3)));
      expect(lex.calls('ListBots')).toHaveLength(3);
      // maxResults below pageSize wins; filters and sort are honoured.
      const two = await models.send(new ListBotsCommand({ maxResults: 2, sortBy: { attribute: 'BotName', order: 'Descending' } }));
      expect(two.botSummaries?.map((b) => b.botName)).toEqual(['Bot06', 'Bot05']);
      const eq = await models.send(new ListBotsCommand({ filters: [{ name: 'BotName', values: ['Bot04'], operator: 'EQ' }] }));
      expect(eq.botSummaries?.map((b) => b.botId)).toEqual(['BOT0000004']);
    });

    it('ListBotAliases pages, with alias statuses and dates; setBots changes what is listed', async () => {
      lex.setBots(manyBots(2));
      const aliases = [];
      let nextToken: string | undefined;
      let calls = 0;
      do {
        const out = await models.send(new ListBotAliasesCommand({ botId: 'BOT0000001', maxResults: 2, nextToken }));
        expect(out.botId).toBe('BOT0000001');
        aliases.push(...(out.botAliasSummaries ?? []));
        nextToken = out.nextToken;
        calls++;
      } while (nextToken);
      expect(calls).toBe(3);
      expect(aliases.map((a) => a.botAliasName)).toEqual(['TestBotAlias', 'alias1', 'alias2', 'alias3', 'alias4']);
      expect(aliases[0].botVersion).toBe('DRAFT');
      expect(aliases[4].botAliasStatus).toBe('Failed');
      expect(aliases[2].lastUpdatedDateTime).toEqual(new Date(Date.UTC(2026, 1, 3)));

      const missing = await models.send(new ListBotAliasesCommand({ botId: 'NOPE' })).catch((e: unknown) => e);
      expect(missing).toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } });
      const badToken = await models.send(new ListBotsCommand({ nextToken: 'garbage' })).catch((e: unknown) => e);
      expect(badToken).toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    });
  });

  describe('faults', () => {
    const text = (sessionId = 'err-1') => new RecognizeTextCommand({ ...BOT, sessionId, text: 'hello' });
    const cases = [
      ['throttle', 'ThrottlingException', 429],
      ['internal', 'InternalServerException', 500],
      ['internal-failure', 'InternalFailureException', 500],
      ['bad-gateway', 'BadGatewayException', 502],
      ['dependency-failed', 'DependencyFailedException', 424],
      ['conflict', 'ConflictException', 409],
      ['validation', 'ValidationException', 400],
      ['not-found', 'ResourceNotFoundException', 404],
      ['access-denied', 'AccessDeniedException', 403],
    ] as const;

    it.each(cases)('failNext %s surfaces as %s / %i in the SDK', async (kind, name, status) => {
      const noRetry = runtimeClient({ maxAttempts: 1 });
      try {
        lex.failNext('RecognizeText', kind);
        const err = await noRetry.send(text()).catch((e: unknown) => e);
        expect(err).toMatchObject({ name, $metadata: { httpStatusCode: status, requestId: expect.stringMatching(/^fake-/) } });
        expect((err as Error).message).not.toBe('UnknownError');
        expect(lex.calls('RecognizeText')[0]).toMatchObject({ status, error: name });
        // Only the next call failed.
        await expect(noRetry.send(text())).resolves.toMatchObject({ sessionId: 'err-1' });
      } finally {
        noRetry.destroy();
      }
    });

    it('models errors: throttling on ListBots, and AccessDenied (not modelled by the client) keeps its name', async () => {
      const m = new LexModelsV2Client({ region: 'us-east-1', endpoint: lex.url, credentials, maxAttempts: 1 });
      try {
        lex.failNext('ListBots', 'throttle');
        lex.failNext('ListBotAliases', 'access-denied');
        await expect(m.send(new ListBotsCommand({}))).rejects.toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 429 } });
        await expect(m.send(new ListBotAliasesCommand({ botId: BOT.botId }))).rejects.toMatchObject({
          name: 'AccessDeniedException',
          $metadata: { httpStatusCode: 403 },
        });
      } finally {
        m.destroy();
      }
    });

    it('the SDK retries throttling and 5xx on its own; count covers several calls', async () => {
      lex.failNext('RecognizeText', 'throttle', 2);
      const out = await runtime.send(text()); // default maxAttempts 3
      expect(out.$metadata.attempts).toBe(3);
      expect(lex.calls('RecognizeText').map((r) => r.status)).toEqual([429, 429, 200]);
    });

    it('reset and disconnect break the transport; the next call works', async () => {
      const noRetry = runtimeClient({ maxAttempts: 1 });
      try {
        lex.failNext('RecognizeText', 'reset');
        const reset = await noRetry.send(text()).catch((e: unknown) => e);
        expect(reset).toBeInstanceOf(Error);
        expect((reset as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBeUndefined();
        lex.failNext('*', 'disconnect');
        await expect(noRetry.send(text())).rejects.toBeInstanceOf(Error);
        await expect(noRetry.send(text())).resolves.toMatchObject({ sessionId: 'err-1' });
        expect(lex.calls('RecognizeText').map((r) => r.error)).toEqual(['reset', 'disconnect', undefined]);
        // The SDK's own retry does not cover a reset stream: the connector has to.
        lex.failNext('RecognizeText', 'reset');
        await expect(runtime.send(text())).rejects.toMatchObject({ $metadata: { attempts: 1 } });
      } finally {
        noRetry.destroy();
      }
    });

    it('hang holds the call until the client times out', async () => {
      const impatient = runtimeClient({ maxAttempts: 1, requestHandler: { requestTimeout: 150 } });
      try {
        lex.failNext('RecognizeUtterance', 'hang');
        const t0 = Date.now();
        const err = await impatient
          .send(new RecognizeUtteranceCommand({ ...BOT, sessionId: 'hang-1', requestContentType: L16_16K, inputStream: pcmTone(50) }))
          .catch((e: unknown) => e);
        expect(err).toMatchObject({ name: 'TimeoutError' });
        expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
        // The server sees the client go a moment later: wait for it (bounded) rather than a fixed pause.
        const rec = () => lex.calls('RecognizeUtterance')[0];
        for (const end = Date.now() + 3000; rec()?.status === undefined && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
        expect(rec()).toMatchObject({ status: 0, error: 'hang' });
      } finally {
        impatient.destroy();
      }
    });

    it('delay is honoured and recorded as serviceMs; other operations are not delayed', async () => {
      lex.delay('RecognizeText', 120);
      const t0 = Date.now();
      await runtime.send(text());
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(115);
      const rec = lex.calls('RecognizeText')[0];
      expect(rec.serviceMs).toBe(120);
      expect(rec.respondedAt! - rec.at).toBeGreaterThanOrEqual(115);

      await runtime.send(new DeleteSessionCommand({ ...BOT, sessionId: 'err-1' }));
      // Timed at the server (a busy client adds its own time): answered without the 120 ms.
      const del = lex.calls('DeleteSession')[0];
      expect(del.serviceMs).toBe(0);
      expect(del.respondedAt! - del.at).toBeLessThan(115);
      lex.delay('RecognizeText', 0);
      await runtime.send(text());
      expect(lex.calls('RecognizeText')[1].serviceMs).toBe(0);
    });

    it('a delay can target one session: a slow call does not hold others', async () => {
      lex.delay('RecognizeText', 400, (r) => r.sessionId === 'slow');
      const slow = runtime.send(text('slow'));
      await runtime.send(text('fast'));
      await slow;
      // The fast call was answered while the slow one was held (server times: client load does not blur them).
      const by = Object.fromEntries(lex.calls('RecognizeText').map((r) => [r.sessionId, r]));
      expect(by.fast.respondedAt!).toBeLessThan(by.slow.respondedAt!);
      const bySession = Object.fromEntries(lex.calls('RecognizeText').map((r) => [r.sessionId, r.serviceMs]));
      expect(bySession).toEqual({ slow: 400, fast: 0 });
    });

    it('rejects what real Lex rejects: bad content types, bad session ids, unknown bots, undecodable headers, oversize bodies', async () => {
      const noRetry = runtimeClient({ maxAttempts: 1 });
      const utter = (over: Partial<ConstructorParameters<typeof RecognizeUtteranceCommand>[0]>) =>
        noRetry
          .send(new RecognizeUtteranceCommand({ ...BOT, sessionId: 'v-1', requestContentType: L16_16K, responseContentType: 'audio/pcm', inputStream: pcmTone(20), ...over }))
          .catch((e: unknown) => e as { name: string; message: string; $metadata: { httpStatusCode: number } });
      try {
        expect(await utter({ requestContentType: 'audio/basic' })).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('requestContentType') });
        expect(await utter({ requestContentType: 'audio/lpcm; sample-rate=8000; sample-size-bits=16; channel-count=1; is-big-endian=true' })).toMatchObject({
          name: 'ValidationException',
        });
        expect(await utter({ responseContentType: 'audio/wav' })).toMatchObject({ name: 'ValidationException' });
        expect(await utter({ sessionId: 'has space' })).toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
        expect(await utter({ botAliasId: 'NOPE' })).toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } });
        expect(await utter({ localeId: 'fr_FR' })).toMatchObject({ name: 'ResourceNotFoundException' });
        // Plain JSON instead of gzip+base64: the connector bug this catches.
        expect(await utter({ sessionState: Buffer.from('{}').toString('base64') })).toMatchObject({
          name: 'ValidationException',
          message: expect.stringContaining('gzip'),
        });
        await lex.stop();
        lex = await FakeLexServer.start({ maxBodyBytes: 1000 });
        const small = runtimeClient({ maxAttempts: 1 });
        const big = await small
          .send(new RecognizeUtteranceCommand({ ...BOT, sessionId: 'v-2', requestContentType: L16_16K, inputStream: pcmTone(500) }))
          .catch((e: unknown) => e);
        small.destroy();
        expect(big).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('exceeds') });
        expect(lex.requests[0].audio).toBeUndefined(); // not buffered
      } finally {
        noRetry.destroy();
      }
    });

    it('stop() is prompt with calls in flight and unread reply bodies', async () => {
      lex.delay('RecognizeText', 10_000);
      const pending = runtime.send(text('in-flight')).catch((e: unknown) => e);
      await runtime.send(
        new RecognizeUtteranceCommand({ ...BOT, sessionId: 'unread', requestContentType: L16_16K, responseContentType: 'audio/pcm', inputStream: pcmTone(50) }),
      ); // reply audio deliberately not read
      await new Promise((r) => setTimeout(r, 20));
      const t0 = Date.now();
      await lex.stop();
      expect(Date.now() - t0).toBeLessThan(3000); // not held by the 10 s call in flight
      expect(await pending).toBeInstanceOf(Error);
      lex = await FakeLexServer.start(); // for afterEach
    });
  });
});
