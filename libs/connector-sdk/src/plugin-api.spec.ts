import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ts from 'typescript';
import type * as Public from '../plugin-api';
import type * as Sdk from './index';

// The public plugin types (plugin-api.d.ts) are a copy without path aliases: these compile-time checks (run by
// `tsc --noEmit`) fail when they drift from the gateway's own contract.
type Extends<A, B> = [A] extends [B] ? true : false;
function assertTrue<T extends true>(): T | void {}

// What the gateway hands to plugins must satisfy what plugins were written against...
assertTrue<Extends<Sdk.ConnectorDefinition, Public.ConnectorDefinition>>();
assertTrue<Extends<Sdk.ConnectorCallContext, Public.ConnectorCallContext>>();
assertTrue<Extends<Sdk.AgentSessionContext, Public.AgentSessionContext>>();
assertTrue<Extends<Sdk.CallerInput, Public.CallerInput>>();
assertTrue<Extends<Sdk.AudioStreamInfo, Public.AudioStreamInfo>>();
assertTrue<Extends<Sdk.EndReason, Public.EndReason>>();
// ...and what plugins hand back must be what the gateway takes.
assertTrue<Extends<Public.ConnectorPlugin, Sdk.ConnectorPluginDescriptor>>();
assertTrue<Extends<Public.VirtualAgentConnector, Sdk.VirtualAgentConnector>>();
assertTrue<Extends<Public.AgentSession, Sdk.AgentSession>>();
assertTrue<Extends<Public.AgentOutput, Sdk.AgentOutput>>();
assertTrue<Extends<Public.AgentReply, Sdk.AgentReply>>();
assertTrue<Extends<Public.ConnectorCapabilities, Sdk.ConnectorCapabilities>>();
// Both ways for the shapes that travel both ways.
assertTrue<Extends<Sdk.AgentOutput, Public.AgentOutput>>();
assertTrue<Extends<Sdk.AgentReply, Public.AgentReply>>();
assertTrue<Extends<Sdk.CallerInput, Public.CallerInput>>();
assertTrue<Extends<Public.CallerInput, Sdk.CallerInput>>();

const REPO = resolve(__dirname, '../../..');

const GOOD = `
import type { ConnectorPlugin, RequestReplyConnector, StreamingConnector } from 'byova-gateway/connector-sdk';

export const connectors: ConnectorPlugin[] = [
  {
    type: 'ts_echo',
    create(def) {
      const c: RequestReplyConnector = {
        listAgents: () => [{ id: 'TS: ' + def.id }],
        start: async () => ({ prompts: [{ text: 'hi', audio: { format: def.promptFormat, data: new Uint8Array(800) } }] }),
        handleInput: async (_ctx, input) => (input.kind === 'dtmf' ? { prompts: [{ text: input.digits }] } : null),
        end: async (ctx, reason) => ctx.logger.info({ reason }, 'ended'),
      };
      return c;
    },
  },
  {
    type: 'ts_stream',
    create(): StreamingConnector {
      return {
        listAgents: () => [{ id: 'TS stream' }],
        capabilities: () => ({ replyModes: ['chunk'], endpointing: 'agent' }),
        openSession: (ctx) => ({
          async start() { ctx.emit({ type: 'reply_end' }); },
          async input(input, signal) { if (!signal.aborted) ctx.emit({ type: 'prompt', prompt: { text: input.kind } }); ctx.emit({ type: 'reply_end' }); },
          audio(pcm) { if (pcm[0] > 1000) ctx.emit({ type: 'start_of_input' }); },
          async end() {},
        }),
      };
    },
  },
];
`;

const BAD = `
import type { ConnectorPlugin } from 'byova-gateway/connector-sdk';
export const connectors: ConnectorPlugin[] = [{ type: 'bad', create: () => ({ listAgents: () => [{ name: 'no id' }], openSession: () => null }) }];
`;

describe('public plugin types (byova-gateway/connector-sdk)', () => {
  let dir: string;
  beforeAll(async () => {
    // An outside TypeScript project that installed the gateway as a (dev) dependency.
    dir = await mkdtemp(join(tmpdir(), 'byova-ts-plugin-'));
    await mkdir(join(dir, 'node_modules', '@types'), { recursive: true });
    await symlink(REPO, join(dir, 'node_modules', 'byova-gateway'), 'dir');
    await symlink(join(REPO, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'), 'dir');
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'ts-plugin', version: '1.0.0' }));
    await writeFile(join(dir, 'good.ts'), GOOD);
    await writeFile(join(dir, 'bad.ts'), BAD);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Diagnostics per file, both files in one program (a program costs seconds). */
  const compile = (moduleResolution: ts.ModuleResolutionKind, module: ts.ModuleKind) => {
    const program = ts.createProgram([join(dir, 'good.ts'), join(dir, 'bad.ts')], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts'],
      types: ['node'],
      module,
      moduleResolution,
      ignoreDeprecations: '6.0',
    });
    const of = (file: string) =>
      ts.getPreEmitDiagnostics(program, program.getSourceFile(join(dir, file))).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    return { good: of('good.ts'), bad: of('bad.ts').join('\n') };
  };

  it.each([
    ['node16', ts.ModuleResolutionKind.Node16, ts.ModuleKind.Node16],
    ['bundler', ts.ModuleResolutionKind.Bundler, ts.ModuleKind.ESNext],
    ['node10', ts.ModuleResolutionKind.Node10, ts.ModuleKind.CommonJS],
  ])('type-checks an outside plugin importing only types (moduleResolution %s)', (_name, resolution, module) => {
    const { good, bad } = compile(resolution, module);
    expect(good).toEqual([]);
    // The types are real, not `any`: a descriptor whose connector lacks an agent id is refused.
    expect(bad).toMatch(/Property 'id' is missing/);
  });
});
