import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { buildGatewayConfig, createLogger, GatewayConfigModule } from '@app/config';
import { ConnectorProvider } from './connector-provider.decorator';
import { ConfigError } from '@app/config';
import { ConnectorRegistry } from './connector-registry.service';
import type { ConnectorDefinition, ConnectorFactory } from './connector.types';
import { ConnectorRegistryModule } from './connector-registry.module';

@ConnectorProvider({ type: 'fixed', aliases: ['connectors.fixed_connector'] })
class FixedFactory implements ConnectorFactory {
  create(def: ConnectorDefinition) {
    const ids = (def.config.agents as string[]) ?? ['A'];
    return {
      listAgents: () => ids.map((id) => ({ id: `Fixed: ${id}` })),
      start: async () => ({ prompts: [] }),
      handleInput: async () => null,
      end: async () => undefined,
      capabilities: () => ({ replyModes: ['wav' as const] }),
    };
  }
}
@ConnectorProvider({ type: 'picky' })
class PickyFactory implements ConnectorFactory {
  create(def: ConnectorDefinition): never {
    throw new Error(`config.colour: must be red, got ${String(def.config.colour)}`);
  }
}
@ConnectorProvider({ type: 'reporting' })
class ReportingFactory implements ConnectorFactory {
  create(def: ConnectorDefinition) {
    return {
      listAgents: () => [],
      start: async () => ({ prompts: [] }),
      handleInput: async () => null,
      end: async () => undefined,
      health: () => {
        if (def.config.broken) throw new Error('no report');
        return { degraded: true, openCircuits: ['bot'] };
      },
    };
  }
}
/** Agents a test changes at run time, with the callback the registry gave each connector. */
const live: Record<string, { ids: string[]; changed: () => void }> = {};
@ConnectorProvider({ type: 'changing' })
class ChangingFactory implements ConnectorFactory {
  create(def: ConnectorDefinition) {
    const state = (live[def.id] = { ids: (def.config.agents as string[]) ?? [], changed: def.agentsChanged });
    return {
      listAgents: () => (state.ids.includes('BAD') ? ('bad' as never) : state.ids.map((id) => ({ id }))),
      start: async () => ({ prompts: [] }),
      handleInput: async () => null,
      end: async () => undefined,
    };
  }
}
@Module({ providers: [FixedFactory, ReportingFactory, ChangingFactory, PickyFactory] })
class FixedModule {}

async function registry(raw: Record<string, unknown>) {
  const config = buildGatewayConfig(raw);
  const mod = await Test.createTestingModule({
    imports: [GatewayConfigModule.forRoot({ config, file: '(test)', baseDir: process.cwd(), warnings: [] }, createLogger('silent')), ConnectorRegistryModule.forRoot([FixedModule])],
  }).compile();
  await mod.init();
  return mod.get(ConnectorRegistry);
}

describe('ConnectorRegistry', () => {
  it('reports the mistakes of every connector at once, each by key, as one configuration error with the file', async () => {
    const failure = await registry({
      connectors: {
        good: { type: 'fixed' },
        a: { type: 'picky', config: { colour: 'blue' } },
        b: { type: 'nope' },
        c: { type: 'fixed', agent_defaults: { 'Fixed: Z': {} }, config: { agents: ['Y'] } },
        off: { type: 'also_unknown', enabled: false },
      },
    }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as ConfigError).file).toBe('(test)');
    expect((failure as ConfigError).problems).toEqual([
      'connectors.a: config.colour: must be red, got blue',
      expect.stringMatching(/^connectors\.b\.type: unknown connector type "nope"/),
      expect.stringMatching(/^connectors\.c\.agent_defaults: no agent "Fixed: Z"/),
    ]);
    expect((failure as Error).message).toMatch(/^Invalid configuration in \(test\):\n  - connectors\.a/);
  });

  it('routes every agent of every connector, in config order, first one default', async () => {
    const r = await registry({ connectors: { one: { type: 'fixed', config: { agents: ['A', 'B'] } }, two: { module: 'connectors.fixed_connector', config: { agents: ['C'] } } } });
    expect(r.agents().map((a) => [a.id, a.name, a.connectorId, a.isDefault])).toEqual([
      ['Fixed: A', 'A', 'one', true],
      ['Fixed: B', 'B', 'one', false],
      ['Fixed: C', 'C', 'two', false],
    ]);
    expect(r.resolve('')?.id).toBe('Fixed: A');
    expect(r.resolve('Fixed: C')?.connectorId).toBe('two');
    expect(r.resolve('Fixed: Z')).toBeUndefined();
  });

  it('honours gateway.default_agent and skips disabled connectors', async () => {
    const r = await registry({
      gateway: { default_agent: 'Fixed: C' },
      connectors: { one: { type: 'fixed', enabled: false }, two: { type: 'fixed', config: { agents: ['C'] } } },
    });
    expect(r.agents().map((a) => [a.id, a.isDefault])).toEqual([['Fixed: C', true]]);
  });

  it('reads a connector\'s agents again when it says they changed: adds, removes, keeps ids unique, survives a bad list', async () => {
    const r = await registry({ connectors: { fixed: { type: 'fixed', config: { agents: ['A'] } }, bots: { type: 'changing', config: { agents: ['x'] } } } });
    const ids = () => r.agents().map((a) => a.id);
    expect(ids()).toEqual(['Fixed: A', 'x']);
    const bound = r.resolve('x');
    live.bots.ids = ['y', 'Fixed: A'];
    live.bots.changed();
    // 'Fixed: A' belongs to the other connector: not taken over; 'x' no longer takes new calls.
    expect(ids()).toEqual(['Fixed: A', 'y']);
    expect(r.resolve('Fixed: A')?.connectorId).toBe('fixed');
    expect(r.resolve('x')).toBeUndefined();
    expect(bound?.id).toBe('x'); // a call holding the binding keeps it
    live.bots.ids = ['BAD'];
    live.bots.changed();
    expect(ids()).toEqual(['Fixed: A', 'y']);
  });

  it('re-picks the default agent when the default one goes away', async () => {
    const r = await registry({ connectors: { bots: { type: 'changing', config: { agents: ['x', 'y'] } } } });
    expect(r.resolve('')?.id).toBe('x');
    live.bots.ids = ['y'];
    live.bots.changed();
    expect(r.resolve('')?.id).toBe('y');
    expect(r.agents().map((a) => a.isDefault)).toEqual([true]);
  });

  it('fails start-up on an unknown connector type, listing the known ones', async () => {
    await expect(registry({ connectors: { x: { type: 'lexx' } } })).rejects.toThrow(
      /connectors\.x\.type: unknown connector type "lexx" \(known types: fixed, reporting, changing, picky\); to keep the entry without loading it, set connectors\.x\.enabled: false/,
    );
  });

  it('fails start-up when two connectors claim the same agent id', async () => {
    await expect(registry({ connectors: { one: { type: 'fixed' }, two: { type: 'fixed' } } })).rejects.toThrow(/connectors\.two: agent id "Fixed: A" is already served by connector one/);
  });

  it('fails start-up on a default_agent that does not exist', async () => {
    await expect(registry({ gateway: { default_agent: 'Nope' }, connectors: { one: { type: 'fixed' } } })).rejects.toThrow(/gateway\.default_agent: no agent "Nope"/);
  });

  it('fails start-up when the agent\'s reply mode is one its connector cannot do', async () => {
    await expect(registry({ connectors: { one: { type: 'fixed', defaults: { reply_mode: 'chunk' } } } })).rejects.toThrow(
      /connectors\.one\.defaults\.reply_mode: "chunk" is not supported by this connector \(use wav\)/,
    );
  });

  it('lays an agent\'s own agent_defaults over its connector\'s defaults', async () => {
    const r = await registry({
      connectors: {
        one: {
          type: 'fixed',
          config: { agents: ['A', 'B'] },
          defaults: { speech: { no_input_timeout_ms: 3000, max_speech_ms: 9000 } },
          agent_defaults: { 'Fixed: B': { input_mode: 'dtmf', speech: { no_input_timeout_ms: 7000 } } },
        },
      },
    });
    const [a, b] = r.agents();
    expect([a.defaults.input_mode, a.defaults.speech.no_input_timeout_ms]).toEqual(['voice_dtmf', 3000]);
    expect([b.defaults.input_mode, b.defaults.speech.no_input_timeout_ms, b.defaults.speech.max_speech_ms]).toEqual(['dtmf', 7000, 9000]);
  });

  it('names bad agent_defaults: an unknown agent, a bad value, a per-connector key', async () => {
    await expect(registry({ connectors: { one: { type: 'fixed', agent_defaults: { 'Fixed: Z': {} } } } })).rejects.toThrow(/connectors\.one\.agent_defaults: no agent "Fixed: Z"/);
    await expect(registry({ connectors: { one: { type: 'fixed', agent_defaults: { 'Fixed: A': { speech: { max_speech_ms: -1 } } } } } })).rejects.toThrow(
      /connectors\.one\.agent_defaults\.Fixed: A\.speech\.max_speech_ms/,
    );
    await expect(registry({ connectors: { one: { type: 'fixed', agent_defaults: { 'Fixed: A': { prompt_encoding: 'alaw' } } } } })).rejects.toThrow(/set per connector/);
    await expect(registry({ connectors: { one: { type: 'fixed', agent_defaults: { 'Fixed: A': { reply_mode: 'chunk' } } } } })).rejects.toThrow(
      /connectors\.one\.agent_defaults\.Fixed: A\.reply_mode: "chunk" is not supported/,
    );
  });

  it('starts with no agents (health reports NOT_SERVING)', async () => {
    const r = await registry({ connectors: {} });
    expect(r.hasAgents()).toBe(false);
    expect(r.resolve('')).toBeUndefined();
  });

  it('gathers the health of connectors that report it, by config id, even without agents', async () => {
    const r = await registry({ connectors: { one: { type: 'fixed' }, lexish: { type: 'reporting' }, bad: { type: 'reporting', config: { broken: true } } } });
    expect(r.connectorHealth()).toEqual({ lexish: { degraded: true, openCircuits: ['bot'] }, bad: { degraded: true, error: 'no report' } });
  });
});
