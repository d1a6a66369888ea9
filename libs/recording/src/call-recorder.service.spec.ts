import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentDefaults, ConfigPaths, createLogger, GatewaySection } from '@app/config';
import type { AgentBinding, ConnectorRegistry } from '@app/connector-sdk';
import { CallRecorder, type RecordingTarget } from './call-recorder.service';

const DAY = 86_400_000;

describe('CallRecorder', () => {
  let base: string;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'call-recorder-'));
  });
  afterEach(() => rm(base, { recursive: true, force: true }));

  function agent(id: string, recording: Partial<AgentDefaults['recording']>): AgentBinding {
    const defaults = new AgentDefaults();
    Object.assign(defaults.recording, recording);
    return { id, defaults, promptFormat: { encoding: 'mulaw', sampleRate: 8000 } } as AgentBinding;
  }
  function recorder(agents: AgentBinding[]) {
    return new CallRecorder(new ConfigPaths('(test)', base), new GatewaySection(), { agents: () => agents } as unknown as ConnectorRegistry, createLogger('silent'));
  }
  const conversation = (id: string, a: AgentBinding): RecordingTarget => ({
    conversationId: id,
    agentId: a.id,
    startedAt: Date.now(),
    sampleRate: a.promptFormat.sampleRate,
    settings: a.defaults.recording,
    log: createLogger('silent'),
  });

  it('records only agents with recording enabled, into folders relative to the config base', async () => {
    const rec = recorder([]);
    const on = conversation('c1', agent('on', { enabled: true, folder: 'rel' }));
    const off = conversation('c2', agent('off', { folder: 'rel' }));
    const recOn = rec.open(on)!;
    expect(rec.open(off)).toBeUndefined();
    recOn.agentPrompts([{ audio: { format: { encoding: 'mulaw', sampleRate: 8000 }, data: new Uint8Array(800).fill(0x10) } }]);
    expect(rec.openCount).toBe(1);
    await rec.close(recOn);
    expect(rec.openCount).toBe(0);
    expect((await readdir(join(base, 'rel'))).sort()).toEqual([expect.stringMatching(/^c1_.*_agent\.wav$/), expect.stringMatching(/^c1_.*_caller\.wav$/)]);
  });

  it('finalises every recording still open at shutdown', async () => {
    const rec = recorder([]);
    const a = agent('a', { enabled: true, folder: join(base, 'abs'), layout: 'stereo' });
    for (const id of ['x', 'y']) {
      const conv = conversation(id, a);
      rec.open(conv)!.callerInput(8000, false)!.push(new Int16Array(160).fill(100));
    }
    await rec.onApplicationShutdown();
    expect((await readdir(join(base, 'abs'))).length).toBe(2);
  });

  it('a recording that never finishes does not hold the shutdown past its deadline, and is named', async () => {
    const lines: Record<string, unknown>[] = [];
    const rec = new CallRecorder(new ConfigPaths('(test)', base), new GatewaySection(), { agents: () => [] } as unknown as ConnectorRegistry, createLogger('warn', { write: (l: string) => void lines.push(JSON.parse(l)) }));
    const a = agent('a', { enabled: true, folder: join(base, 'hung') });
    const hung = rec.open(conversation('hung-call', a))!;
    hung.close = () => new Promise<string[]>(() => undefined); // a disk that never answers
    const t0 = Date.now();
    rec.shutdownBy(t0 + 150);
    await rec.onApplicationShutdown();
    expect(Date.now() - t0).toBeLessThan(3000); // the deadline (150 ms), not the disk that never answers
    expect(rec.pendingConversations()).toEqual(['hung-call']);
    expect(lines).toContainEqual(expect.objectContaining({ conversations: ['hung-call'], msg: expect.stringMatching(/not finalised/) }));
  });

  it('applies retention at start-up, per folder, the shortest retention when agents share one', async () => {
    const shared = join(base, 'shared');
    const other = join(base, 'other');
    await mkdir(shared);
    await mkdir(other);
    const aged = async (path: string, days: number) => {
      await writeFile(path, 'x');
      const t = (Date.now() - days * DAY) / 1000;
      await utimes(path, t, t);
    };
    await aged(join(shared, 'a.wav'), 5);
    await aged(join(shared, 'b.wav'), 1);
    await aged(join(other, 'c.wav'), 5);
    const rec = recorder([
      agent('one', { folder: shared, retention_days: 30 }),
      agent('two', { enabled: true, folder: shared, retention_days: 2 }),
      agent('three', { enabled: true, folder: other }), // keeps its files
    ]);
    rec.onApplicationBootstrap();
    await rec.applyRetention(); // the start-up run is not awaited by Nest; run it again to await it
    expect(await readdir(shared)).toEqual(['b.wav']);
    expect(await readdir(other)).toEqual(['c.wav']);
    await rec.onApplicationShutdown(); // clears the hourly timer
  });
});
