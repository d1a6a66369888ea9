import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Test } from '@nestjs/testing';
import { buildGatewayConfig, createLogger, GatewayConfigModule } from '@app/config';
import { ConnectorRegistryModule } from './connector-registry.module';
import { ConnectorRegistry } from './connector-registry.service';
import { interpretPluginExports, loadConnectorPlugins } from './plugin-loader';

const REPO = resolve(__dirname, '../../..');

// A plain-JavaScript plugin: no require of anything, the way an outside author writes one from the README.
const PLAIN_PLUGIN = `
exports.connectors = [{
  type: 'echo_js',
  aliases: ['echo_alias'],
  create(def) {
    const name = def.config.name || 'echo';
    return {
      listAgents: () => [{ id: 'Echo: ' + name }],
      start: async () => ({ prompts: [{ text: 'hello from ' + def.id }] }),
      handleInput: async (ctx, input) => ({ prompts: [{ text: 'you sent ' + input.kind }] }),
      end: async () => {},
    };
  },
}];
`;

async function registry(raw: Record<string, unknown>, baseDir: string) {
  const config = buildGatewayConfig(raw);
  const plugins = loadConnectorPlugins(config, baseDir);
  const mod = await Test.createTestingModule({
    imports: [GatewayConfigModule.forRoot({ config, file: '(test)', baseDir, warnings: [] }, createLogger('silent')), ConnectorRegistryModule.forRoot(plugins)],
  }).compile();
  await mod.init();
  return mod.get(ConnectorRegistry);
}

describe('connector plugin loader', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'byova-plugin-spec-'));
    await writeFile(join(dir, 'plain.js'), PLAIN_PLUGIN);
    await writeFile(join(dir, 'bare.js'), `module.exports = { type: 'bare_js', create: () => ({ listAgents: () => [{ id: 'Bare' }], openSession: () => ({}) }) };`);
    await writeFile(join(dir, 'nothing.js'), `exports.hello = 1;`);
    await writeFile(join(dir, 'notype.js'), `exports.connectors = [{ create() {} }];`);
    await writeFile(join(dir, 'broken.js'), `exports.connectors = [{ type: 'broken', create: () => ({ listAgents: () => [{ id: 'B' }], start() {} }) }];`);
    await writeFile(join(dir, 'clash.js'), `exports.connectors = [{ type: 'scripted', create() {} }];`);
    await writeFile(join(dir, 'throws.js'), `throw new Error('plugin top-level failure');`);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('registers plain descriptors under their type and aliases, and builds connectors from them', async () => {
    const r = await registry(
      { connectors: { a: { module: join(dir, 'plain.js'), type: 'echo_js', config: { name: 'A' } }, b: { module: './plain.js', type: 'echo_alias', config: { name: 'B' } } } },
      dir,
    );
    expect(r.agents().map((a) => [a.id, a.connectorId])).toEqual([
      ['Echo: A', 'a'],
      ['Echo: B', 'b'],
    ]);
    const c = r.resolve('Echo: B')!.connector as any;
    expect(await c.start({}, { resumed: false })).toEqual({ prompts: [{ text: 'hello from b' }] });
  });

  it('lets `module:` alone select a plugin that offers one type; accepts module.exports = descriptor', async () => {
    const r = await registry({ connectors: { p: { module: './plain.js' }, q: { module: join(dir, 'bare.js') } } }, dir);
    expect(r.agents().map((a) => a.id)).toEqual(['Echo: echo', 'Bare']);
  });

  it('still loads a NestJS module plugin (connectorModule with @ConnectorProvider factories)', async () => {
    const r = await registry({ connectors: { s: { module: './test/fixtures/scripted-connector', type: 'scripted' } } }, REPO);
    expect(r.agents().map((a) => a.id)).toEqual(['Scripted: bot']);
  });

  it('loads the streaming test connectors as plugins (no-import registration, selected by module alone)', async () => {
    const r = await registry(
      { connectors: { c: { module: './test/fixtures/chunked-reply-connector' }, e: { module: './test/fixtures/self-endpointing-connector', type: 'self_endpointing' } } },
      REPO,
    );
    expect(r.agents().map((a) => a.id)).toEqual(['Chunked: stream', 'Self-endpointing: listener']);
    expect(typeof (r.resolve('Chunked: stream')!.connector as { openSession?: unknown }).openSession).toBe('function');
  });

  it('reads the export forms: connectors array, keyed object, single descriptor, default, connectorModule', () => {
    const create = () => ({});
    const where = 'connectors.x.module: "p"';
    const types = (x: unknown) => {
      const r = interpretPluginExports(x, where);
      return 'descriptors' in r ? r.descriptors.map((d) => [d.type, d.aliases]) : 'module';
    };
    expect(types({ connectors: [{ type: 'a', create }] })).toEqual([['a', []]]);
    expect(types({ connectors: { a: { create }, b: { type: 'bb', aliases: ['x'], create } } })).toEqual([
      ['a', []],
      ['bb', ['x']],
    ]);
    expect(types({ type: 'a', create })).toEqual([['a', []]]);
    expect(types([{ type: 'a', create }])).toEqual([['a', []]]);
    expect(types({ default: { connectors: [{ type: 'a', create }] } })).toEqual([['a', []]]);
    expect(types({ default: [{ type: 'a', create }] })).toEqual([['a', []]]);
    expect(types({ connectorModule: { module: class {}, providers: [] } })).toBe('module');
  });

  it('names the config key and what is wrong when a plugin exports the wrong thing', () => {
    const where = 'connectors.x.module: "p"';
    const bad = (x: unknown) => () => interpretPluginExports(x, where);
    expect(bad({ hello: 1 })).toThrow(/- connectors\.x\.module: "p": exports no connectors: export `connectors`/);
    expect(bad({ connectors: [] })).toThrow(/connectors is empty/);
    expect(bad({ connectors: 'nope' })).toThrow(/connectors must be an array/);
    expect(bad({ connectors: [{ type: 'a', create() {} }, { create() {} }] })).toThrow(/connectors\[1\]\.type must be a non-empty string/);
    expect(bad({ connectors: [{ type: 'a' , create: 'x' }] })).toThrow(/connectors\[0\]\.create must be a function/);
    expect(bad({ connectors: [{ type: 'a', aliases: 'b', create() {} }] })).toThrow(/aliases must be an array/);
    expect(bad({ connectorModule: class NotAModule {} })).toThrow(/connectorModule is not a NestJS module/);
  });

  it('fails start-up naming connectors.<id>.module for a plugin that cannot load or exports nothing usable', async () => {
    await expect(registry({ connectors: { x: { module: './missing.js' } } }, dir)).rejects.toThrow(/- connectors\.x\.module: cannot load "\.\/missing\.js": Cannot (find|resolve) module/);
    await expect(registry({ connectors: { x: { module: './throws.js' } } }, dir)).rejects.toThrow(/connectors\.x\.module: cannot load "\.\/throws\.js": plugin top-level failure/);
    await expect(registry({ connectors: { x: { module: './nothing.js' } } }, dir)).rejects.toThrow(/connectors\.x\.module: ".\/nothing\.js": exports no connectors/);
    await expect(registry({ connectors: { x: { module: './notype.js' } } }, dir)).rejects.toThrow(/connectors\.x\.module: ".\/notype\.js": connectors\[0\]\.type/);
  });

  it('refuses a connector missing the methods of either interface, and a type already taken', async () => {
    await expect(registry({ connectors: { x: { module: './broken.js' } } }, dir)).rejects.toThrow(
      /connectors\.x: the "broken" connector needs openSession\(ctx\) \(streaming\), or start, handleInput and end \(request\/reply\); missing handleInput, end/,
    );
    const clash = { connectors: { s: { module: join(REPO, 'test/fixtures/scripted-connector'), type: 'scripted' }, x: { module: './clash.js', type: 'scripted' } } };
    await expect(registry(clash, dir)).rejects.toThrow(/connector type "scripted" is provided twice/);
  });

  it('skips disabled entries and Python-layout built-in module names', () => {
    const config = buildGatewayConfig({ connectors: { a: { module: './missing.js', enabled: false }, b: { module: 'connectors.local_audio_connector' } } });
    expect(loadConnectorPlugins(config, dir)).toEqual([]);
  });
});
