import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const REPO = resolve(__dirname, '../../../..');

/** Runs `script` in a fresh Node (its own module cache, not jest's) and returns which AWS SDK clients it loaded. */
async function sdkClientsLoadedBy(script: string): Promise<string[]> {
  const probe = `${script}
    .then(() => {
      const names = new Set();
      for (const k of Object.keys(require.cache)) { const m = /node_modules\\/@aws-sdk\\/(client-[^/]+)\\//.exec(k); if (m) names.add(m[1]); }
      process.stdout.write(JSON.stringify([...names].sort()));
      process.exit(0);
    })
    .catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-r', '@swc-node/register', '-e', probe], { cwd: REPO, timeout: 60_000 });
  return JSON.parse(stdout) as string[];
}

const CREATE = (config: object) => `
  require('reflect-metadata');
  const { AgentDefaults, ConnectorTimeouts, createLogger } = require('./libs/config/src');
  const { LexConnectorFactory } = require('./libs/connectors/src/aws-lex/lex.factory');
  new LexConnectorFactory()
    .create({ id: 'lex', config: ${JSON.stringify(config)}, defaults: new AgentDefaults(), timeouts: new ConnectorTimeouts(),
      promptFormat: { encoding: 'mulaw', sampleRate: 8000 }, baseDir: process.cwd(), logger: createLogger('silent'), agentsChanged: () => undefined })
    .then((c) => c.close())`;

// The SDK is loaded by a Lex connector as it is created: a gateway without one never pays its start-up time and heap.
describe('AWS SDK loading', () => {
  it('a gateway without a Lex connector loads no AWS SDK client', async () => {
    expect(await sdkClientsLoadedBy(`require('reflect-metadata'); require('./apps/gateway/src/bootstrap'); Promise.resolve()`)).toEqual([]);
  });

  it('a Lex connector with bot ids given by hand loads the runtime client only; one that discovers its bots loads the models client too', async () => {
    const ids = { region_name: 'eu-west-2', bots: [{ bot_id: 'B1', alias_id: 'A1', bot_name: 'Banking' }] };
    expect(await sdkClientsLoadedBy(CREATE(ids))).toEqual(['client-lex-runtime-v2']);
    // Discovery against an endpoint that refuses at once: the connector still starts (health reports it).
    const discovering = { region_name: 'eu-west-2', endpoint_url: 'http://127.0.0.1:9', models_endpoint_url: 'http://127.0.0.1:9', request_timeout_ms: 2000 };
    expect(await sdkClientsLoadedBy(`process.env.AWS_ACCESS_KEY_ID = 'x'; process.env.AWS_SECRET_ACCESS_KEY = 'x'; ${CREATE(discovering)}`)).toEqual([
      'client-lex-models-v2',
      'client-lex-runtime-v2',
    ]);
  });
});
