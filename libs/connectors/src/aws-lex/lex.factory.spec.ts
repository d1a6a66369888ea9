import { AgentDefaults, ConnectorTimeouts, createLogger } from '@app/config';
import type { AudioFormat } from '@app/audio';
import { resolve } from 'node:path';
import { LexConnectorFactory } from './lex.factory';

const REPO = resolve(__dirname, '../../../..');

const MULAW: AudioFormat = { encoding: 'mulaw', sampleRate: 8000 };
const make = (config: Record<string, unknown>, timeouts = new ConnectorTimeouts()) =>
  new LexConnectorFactory().create({ id: 'aws_lex_connector', config, defaults: new AgentDefaults(), timeouts, promptFormat: MULAW, baseDir: REPO, logger: createLogger('silent'), agentsChanged: () => undefined });

describe('LexConnectorFactory', () => {
  it('serves an explicit bot list with ids without any discovery call', async () => {
    const c = await make({ region_name: 'eu-west-2', bots: [{ bot_id: 'B1', alias_id: 'A1', bot_name: 'Banking' }, { bot_id: 'B2', alias_id: 'A2', agent_name: 'Travel desk' }] });
    expect(c.listAgents()).toEqual([
      { id: 'aws_lex_connector: Banking', name: 'Banking' },
      { id: 'aws_lex_connector: Travel desk', name: 'Travel desk' },
    ]);
    expect(c.capabilities()).toEqual({ replyModes: ['wav', 'chunk'], speechAudio: true });
    expect(c.health().degraded).toBe(false);
    await c.close();
  });

  it('plays an apology from a WAV file in the call format, and stops start-up on a bad one', async () => {
    const c = await make({ region_name: 'eu-west-2', bots: [], apology_text: 'Oops.', apology_audio_file: 'audio/error.wav' });
    const p = c.errorReply().prompts[0];
    expect([p.text, p.audio?.format, p.audio!.data.length > 1000]).toEqual(['Oops.', MULAW, true]);
    await c.close();
    await expect(make({ region_name: 'eu-west-2', bots: [], apology_audio_file: 'nope.wav' })).rejects.toThrow(/config\.apology_audio_file: .*nope\.wav is not a readable WAV file/);
  });

  it('without apology_audio_file, speaks the gateway\'s own error prompt if it is there, else warns that the apology is silent', async () => {
    const c = await make({ region_name: 'eu-west-2', bots: [] });
    expect(c.errorReply().prompts[0].audio!.data.length).toBeGreaterThan(1000);
    await c.close();
    const lines: Array<{ msg: string }> = [];
    const elsewhere = await new LexConnectorFactory().create({
      id: 'aws_lex_connector',
      config: { region_name: 'eu-west-2', bots: [] },
      defaults: new AgentDefaults(),
      timeouts: new ConnectorTimeouts(),
      promptFormat: MULAW,
      baseDir: resolve(REPO, 'libs'),
      logger: createLogger('warn', { write: (l: string) => void lines.push(JSON.parse(l)) }),
      agentsChanged: () => undefined,
    });
    expect(elsewhere.errorReply().prompts[0].audio).toBeUndefined();
    expect(lines.map((l) => l.msg)).toEqual([expect.stringMatching(/apology_audio_file is not set .* text only/)]);
    await elsewhere.close();
  });

  it('needs region_name', async () => {
    await expect(make({ bots: [] })).rejects.toThrow(/connectors\.aws_lex_connector\.config\.region_name/);
  });

  it('refuses credentials in the config with a clear message', async () => {
    await expect(make({ region_name: 'us-east-1', aws_access_key_id: 'AKIA', aws_secret_access_key: 'x' })).rejects.toThrow(
      /config\.aws_access_key_id: AWS credentials are never read from the config; use the AWS default chain[\s\S]*config\.aws_secret_access_key/,
    );
  });

  it('names bad keys and values', async () => {
    await expect(
      make({ region_name: 'us-east-1', bots: [{ bot_name: 'X' }], welcome: { text: 'hi', intent: 'Start' }, on_no_input_exhausted: 'explode', max_retries: -1, regoin: 'x' }),
    ).rejects.toThrow(/regoin: unknown key/);
    const msg = await make({ region_name: 'us-east-1', bots: [{ bot_name: 'X' }], welcome: { text: 'hi', intent: 'Start' }, on_no_input_exhausted: 'explode', max_retries: -1 }).catch((e: Error) => e.message);
    expect(msg).toMatch(/on_no_input_exhausted/);
    expect(msg).toMatch(/max_retries/);
    expect(msg).toMatch(/bots\.0: needs alias_id or alias_name/);
    expect(msg).toMatch(/welcome: give text or intent, not both/);
  });

  it('refuses a turn budget that is not below the engine\'s turn deadline, naming both keys', async () => {
    const timeouts = Object.assign(new ConnectorTimeouts(), { turn_ms: 6000 });
    await expect(make({ region_name: 'eu-west-2', bots: [] }, timeouts)).rejects.toThrow(
      'connectors.aws_lex_connector.config.turn_budget_ms (8000) must be below connectors.aws_lex_connector.timeouts.turn_ms (6000)',
    );
    await expect(make({ region_name: 'eu-west-2', bots: [], turn_budget_ms: 6000 }, timeouts)).rejects.toThrow(/turn_budget_ms/);
    const c = await make({ region_name: 'eu-west-2', bots: [], turn_budget_ms: 5000 }, timeouts);
    await c.close();
  });
});
