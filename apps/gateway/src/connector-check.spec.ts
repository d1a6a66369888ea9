import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { ConfigError, loadGatewayConfig } from '@app/config';
import { withConnectorProblems } from './connector-check';

const REPO = resolve(__dirname, '../../..');
const local = (config: Record<string, unknown> = {}) => ({ type: 'local_audio', config: { audio_base_path: join(REPO, 'audio'), ...config } });

describe('withConnectorProblems (the connectors checked when the file has mistakes of its own)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'connector-check-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The loader's error for this file (relative plugin paths resolve against the file's folder). */
  function loaderError(raw: object): ConfigError {
    writeFileSync(join(dir, 'config.yaml'), stringify(raw));
    try {
      loadGatewayConfig({ GATEWAY_CONFIG: 'config.yaml' }, dir);
    } catch (e) {
      if (e instanceof ConfigError) return e;
      throw e;
    }
    throw new Error('the loader accepted the file');
  }

  it("adds every connector's mistakes after the file's own, naming the file", async () => {
    const e = loaderError({
      gateway: { shutdwn_grace_seconds: 10 },
      connectors: {
        ok: local(),
        typo: local({ agent_idd: 'x' }),
        noPrompt: local({ agent_id: 'two', audio_files: { welcome: 'hello-there.wav' } }),
        mybot: { type: 'no_such_thing' },
      },
    });
    const all = await withConnectorProblems(e);
    expect(all).toBeInstanceOf(ConfigError);
    expect(all.file).toBe(join(dir, 'config.yaml'));
    expect(all.problems[0]).toBe('gateway.shutdwn_grace_seconds: unknown key');
    expect(all.problems.slice(1)).toEqual([
      'connectors.typo.config.agent_idd: unknown key',
      expect.stringMatching(/^connectors\.noPrompt\.config\.audio_files\.welcome: cannot read .*hello-there\.wav: ENOENT$/),
      expect.stringMatching(/^connectors\.mybot\.type: unknown connector type "no_such_thing" \(known types: local_audio, aws_lex_connector\)/),
    ]);
  });

  it('leaves out an entry the loader refused, builds the others, and then does not judge default_agent', async () => {
    const e = loaderError({
      gateway: { default_agent: 'nobody' },
      sessions: { max_sessions: -1 },
      connectors: { broken: { type: 'local_audio', enabeld: true }, noPrompt: local({ audio_files: { goodbye: 'bye-now.wav' } }) },
    });
    const all = await withConnectorProblems(e);
    expect(all.problems).toEqual([
      ...e.problems,
      expect.stringMatching(/^connectors\.noPrompt\.config\.audio_files\.goodbye: cannot read .*bye-now\.wav/),
    ]);
    expect(all.problems.join('\n')).not.toMatch(/default_agent/);
  });

  it('checks default_agent when every connector was built', async () => {
    const e = loaderError({ gateway: { default_agent: 'nobody', prot: 1 }, connectors: { ok: local() } });
    expect((await withConnectorProblems(e)).problems).toEqual([
      'gateway.prot: unknown key',
      'gateway.default_agent: no agent "nobody" (agents: Local Audio: Local Playback)',
    ]);
  });

  it('returns the error as it is when the connectors are fine, having closed them: nothing left running', async () => {
    writeFileSync(
      join(dir, 'tidy-plugin.js'),
      `exports.closed = 0;
exports.connectors = [{ type: 'tidy', create: () => ({ listAgents: () => [{ id: 'tidy bot' }], openSession() {}, close() { exports.closed++; } }) }];`,
    );
    const e = loaderError({ gateway: { prot: 1 }, connectors: { ok: local(), tidy: { module: './tidy-plugin.js' } } });
    const before = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
    expect(await withConnectorProblems(e)).toBe(e);
    expect((require(join(dir, 'tidy-plugin.js')) as { closed: number }).closed).toBe(1);
    // No server, socket or worker (the speech detector is not part of the check) outlives it.
    expect(process.getActiveResourcesInfo().filter((r) => r !== 'Timeout')).toEqual(before);
  });

  it('does not build anything when the connectors section itself is refused, or the file could not be read', async () => {
    const e = loaderError({ connectors: ['local_audio'] });
    expect(await withConnectorProblems(e)).toBe(e);
    const unreadable = new ConfigError(['cannot parse YAML: bad indentation'], join(dir, 'config.yaml'));
    expect(await withConnectorProblems(unreadable)).toBe(unreadable);
  });

  it('a plugin failing to load is reported with the rest', async () => {
    const e = loaderError({ gateway: { prot: 1 }, connectors: { plug: { module: './no-such-plugin.js' } } });
    expect((await withConnectorProblems(e)).problems).toEqual([
      'gateway.prot: unknown key',
      expect.stringMatching(/^connectors\.plug\.module: cannot load "\.\/no-such-plugin\.js": Cannot/),
    ]);
  });

  it('gives up after its time bound, saying the connectors could not be checked, and closes them once built', async () => {
    // A plugin whose connector takes a while to build (a backend that answers slowly), then must be closed.
    writeFileSync(
      join(dir, 'slow-plugin.js'),
      `exports.closed = false;
exports.connectors = [{ type: 'slow', create: () => new Promise((r) => setTimeout(() => r({
  listAgents: () => [{ id: 'slow bot' }], openSession() {}, close() { exports.closed = true; },
}), 600)) }];`,
    );
    const e = loaderError({ gateway: { prot: 1 }, connectors: { slow: { module: './slow-plugin.js' } } });
    const t0 = Date.now();
    const all = await withConnectorProblems(e, 200);
    expect(Date.now() - t0).toBeLessThan(550);
    expect(all.problems).toEqual([
      'gateway.prot: unknown key',
      'connectors: could not be checked: building them took longer than 0.2 s (a connector waiting on the network?); fix the mistakes above and start again to see theirs',
    ]);
    const plugin = require(join(dir, 'slow-plugin.js')) as { closed: boolean };
    const end = Date.now() + 3000;
    while (!plugin.closed && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(plugin.closed).toBe(true);
  });
});
