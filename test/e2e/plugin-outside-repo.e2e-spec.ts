import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { encodeFromPcm16, parseWav } from '@app/audio';
import { OutputEvent_EventType as EV, VoiceVAResponse_ResponseType as RT } from '@app/proto';
import { ByovaCaller } from '@app/simulator';
import { killAll, removeTempConfigs, runGatewayToExit, spawnGateway, tempConfig } from '../support/child-gateway';
import { freePort, speechBurst, startTestGateway, TestGateway } from './harness';

// A plugin package as an outside author writes it from the README: plain JavaScript, its own folder with a
// package.json, and no require of anything of the gateway's.
const PLUGIN_SOURCE = `
'use strict';
const calls = [];

function tone(format, ms) {
  const bytes = (format.sampleRate * ms / 1000) * (format.encoding === 'linear16' ? 2 : 1);
  return { format, data: new Uint8Array(bytes).fill(format.encoding === 'linear16' ? 0 : 0xff) };
}

exports.calls = calls;
exports.connectors = [{
  type: 'acme_echo',
  create(definition) {
    const greeting = definition.config.greeting || 'hello';
    if (typeof greeting !== 'string') throw new Error('config.greeting must be text');
    return {
      listAgents: () => [{ id: 'Acme: Echo', attributes: { vendor: 'acme' } }],
      async start(ctx) {
        calls.push({ op: 'start', conversationId: ctx.conversationId });
        return { prompts: [{ text: greeting, audio: tone(definition.promptFormat, 500) }], next: { dtmf: { length: 2 } } };
      },
      async handleInput(ctx, input) {
        calls.push({ op: 'input', input: input.kind === 'speech' ? { kind: 'speech', ms: input.durationMs, samples: input.audio.length } : input });
        if (input.kind === 'dtmf' && input.digits === '99') return { prompts: [{ text: 'goodbye' }], end: { kind: 'session_end' } };
        if (input.kind === 'dtmf') return { prompts: [{ text: 'you pressed ' + input.digits }] };
        if (input.kind === 'speech') return { prompts: [{ text: 'I heard you' }], event: { name: 'heard_speech', metadata: { ms: input.durationMs } } };
        return null;
      },
      async end(ctx, reason) {
        calls.push({ op: 'end', reason });
      },
    };
  },
}];
`;

const MULAW = { encoding: 'mulaw' as const, sampleRate: 8000 };

describe('a plain-JavaScript plugin loaded from a folder outside the source tree', () => {
  let dir: string;
  let t: TestGateway;
  let calls: Array<Record<string, any>>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'byova-outside-plugin-'));
    await mkdir(join(dir, 'lib'));
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'acme-byova-echo', version: '1.0.0', main: 'lib/index.js' }));
    await writeFile(join(dir, 'lib', 'index.js'), PLUGIN_SOURCE);
    // `module:` is the folder's absolute path; no `type:` needed as the plugin offers a single one.
    t = await startTestGateway({
      voice_activity_detection: { end_silence_ms: 400 },
      connectors: { acme: { module: dir, config: { greeting: 'Welcome to Acme' }, defaults: { speech: { no_input_timeout_ms: 0 } } } },
    });
    calls = require(join(dir, 'lib', 'index.js')).calls;
  });
  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists the plugin agent', async () => {
    const res = await t.caller().listAgents();
    expect(res.virtualAgents).toEqual([{ virtualAgentId: 'Acme: Echo', virtualAgentName: 'Echo', isDefault: true, attributes: { vendor: 'acme' } }]);
  });

  it('runs a call through it: welcome audio, DTMF, speech, and an agent-ended hang-up', async () => {
    const caller = t.caller({ agentId: 'Acme: Echo' });
    const welcome = await caller.startSession();
    expect([welcome.status.code, welcome.violations]).toEqual([status.OK, []]);
    const w = welcome.responses[0];
    expect(w.prompts[0].text).toBe('Welcome to Acme');
    const wav = parseWav(w.prompts[0].audioContent);
    expect([wav.sampleFormat, wav.sampleRate, wav.data.length]).toEqual(['mulaw', 8000, 4000]); // 500 ms in the call's format
    expect(w.inputHandlingConfig?.dtmfConfig?.dtmfInputLength).toBe(2);

    const dtmf = await caller.sendDtmf('42');
    expect(dtmf.responses.map((r) => r.prompts[0]?.text)).toEqual(['you pressed 42']);

    const speech = await caller.sendAudio({ data: encodeFromPcm16(speechBurst(600, 0), 'mulaw'), format: MULAW }, { pace: false, trailingSilenceMs: 1500 });
    expect(speech.violations).toEqual([]);
    const answer = speech.responses.find((r) => r.responseType === RT.FINAL)!;
    expect(answer.prompts[0].text).toBe('I heard you');
    expect(answer.outputEvents.map((e) => [EV[e.eventType], e.name])).toEqual([['CUSTOM_EVENT', 'heard_speech']]);

    const bye = await caller.sendDtmf('99');
    expect(bye.terminal?.type).toBe('SESSION_END');
    expect(bye.responses[0].prompts[0].text).toBe('goodbye');

    expect(calls.map((c) => c.op)).toEqual(['start', 'input', 'input', 'input', 'end']);
    expect(calls[1].input).toEqual({ kind: 'dtmf', digits: '42' });
    expect(calls[2].input.kind).toBe('speech');
    expect(calls[2].input.ms).toBeGreaterThanOrEqual(500);
    expect(calls[4].reason).toBe('agent_ended');
    expect(t.gw.engine.conversationCount).toBe(0);
  });
});

describe('a plugin that exports the wrong thing', () => {
  it('stops start-up with a message naming connectors.<id>.module', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'byova-bad-plugin-'));
    try {
      await writeFile(join(dir, 'index.js'), `exports.connector = { type: 'typo', create() {} };`);
      await expect(startTestGateway({ connectors: { typo: { module: dir } } })).rejects.toThrow(/- connectors\.typo\.module: ".*": exports no connectors/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the same plugin under the real entry point (plain Node require, no test runner)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'byova-outside-plugin-'));
    await writeFile(join(dir, 'index.js'), PLUGIN_SOURCE);
    await writeFile(join(dir, 'bad.js'), `module.exports = function notAPlugin() {};`);
  });
  afterAll(async () => {
    killAll();
    removeTempConfigs();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves a call through the plugin', async () => {
    const port = await freePort();
    const g = spawnGateway({
      GATEWAY_CONFIG: tempConfig({ gateway: { host: '127.0.0.1', port }, voice_activity_detection: { engine: 'energy' }, connectors: { acme: { module: dir } } }),
      LOG_LEVEL: 'warn',
    });
    await g.waitForPort(port, 30_000);
    const caller = new ByovaCaller({ target: `127.0.0.1:${port}`, agentId: 'Acme: Echo' });
    try {
      expect((await caller.listAgents()).virtualAgents.map((a) => a.virtualAgentId)).toEqual(['Acme: Echo']);
      expect((await caller.startSession()).prompts[0].text).toBe('hello');
      expect((await caller.sendDtmf('12')).prompts[0].text).toBe('you pressed 12');
    } finally {
      caller.close();
      await g.stop('SIGTERM');
    }
  }, 60_000);

  it('fails start-up naming connectors.<id>.module when the plugin exports no connectors', async () => {
    const o = await runGatewayToExit({ GATEWAY_CONFIG: tempConfig({ gateway: { host: '127.0.0.1', port: 1 }, connectors: { acme: { module: join(dir, 'bad.js') } } }), LOG_LEVEL: 'warn' }, 30_000);
    expect(o.code).toBe(2);
    expect(o.stderr).toMatch(/connectors\.acme\.module: ".*bad\.js": exports no connectors/);
  }, 60_000);
});
