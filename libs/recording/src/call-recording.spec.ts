import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeToPcm16, encodeFromPcm16, MULAW_8K, parseWav, wavToPcm16Mono } from '@app/audio';
import { RecordingSettings, type Logger } from '@app/config';
import type { AgentPrompt } from '@app/connector-sdk';
import { CallRecording } from './call-recording';

const T = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
/** Distinct non-zero values whose mu-law round trip is exact. */
const signal = (n: number, seed = 1) => decodeToPcm16(Uint8Array.from({ length: n }, (_, i) => (((i * 7 + seed) % 120) + 1)), 'mulaw');
const prompt = (pcm: Int16Array): AgentPrompt => ({ text: 'p', audio: { format: MULAW_8K, data: encodeFromPcm16(pcm, 'mulaw') } });
const frames = (pcm: Int16Array, size = 160) => Array.from({ length: Math.ceil(pcm.length / size) }, (_, i) => pcm.slice(i * size, (i + 1) * size));

describe('CallRecording', () => {
  let dir: string;
  let log: { error: jest.Mock; info: jest.Mock; warn: jest.Mock };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'call-rec-'));
    log = { error: jest.fn(), info: jest.fn(), warn: jest.fn() };
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  function recording(settings: Partial<RecordingSettings> = {}, folder = dir) {
    return new CallRecording({
      settings: Object.assign(new RecordingSettings(), { enabled: true }, settings),
      folder,
      conversationId: 'conv/1',
      agentId: 'Bot: one',
      startedAt: T,
      sampleRate: 8000,
      log: log as unknown as Logger,
    });
  }
  const read = async (path: string) => wavToPcm16Mono(parseWav(new Uint8Array(await readFile(path)))).samples;
  const zeros = (pcm: Int16Array) => pcm.every((s) => s === 0);

  it('places both sides by wall-clock offset from the start, silence between, same length', async () => {
    const rec = recording();
    const welcome = signal(800); // 100 ms
    rec.agentPrompts([prompt(welcome)], T + 50); // sample 400
    const speech = signal(480, 5);
    const input = rec.callerInput(8000, false, T + 200)!; // sample 1600
    // The engine reuses its frame buffer: the recording must copy.
    const scratch = new Int16Array(160);
    for (const f of frames(speech)) (scratch.set(f), input.push(scratch));
    const files = await rec.close();
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['conv_1_20240102T030405.678Z_caller.wav', 'conv_1_20240102T030405.678Z_agent.wav']);
    const [caller, agent] = await Promise.all(files.map(read));
    expect(caller.length).toBe(2080);
    expect(agent.length).toBe(2080);
    expect(zeros(caller.subarray(0, 1600))).toBe(true);
    expect(caller.subarray(1600)).toEqual(speech);
    expect(zeros(agent.subarray(0, 400))).toBe(true);
    expect(agent.subarray(400, 1200)).toEqual(welcome);
    expect(zeros(agent.subarray(1200))).toBe(true);
  });

  it('keeps a sensitive turn as silence of the same length, and the timeline after it true', async () => {
    const rec = recording();
    const pci = rec.callerInput(8000, true, T)!;
    for (const f of frames(signal(800))) pci.push(f);
    const next = rec.callerInput(8000, false, T + 50)!; // the PCI audio ran to 100 ms: continues there
    const after = signal(160, 9);
    next.push(after);
    const [caller] = await Promise.all((await rec.close()).map(read));
    expect(caller.length).toBe(960);
    expect(zeros(caller.subarray(0, 800))).toBe(true);
    expect(caller.subarray(800)).toEqual(after);
  });

  it('plays a reply\'s prompts in a row and cuts prompts still playing when the next answer goes out', async () => {
    const rec = recording({ layout: 'stereo', file_pattern: '{agent}.wav' });
    const long = signal(8000, 2);
    rec.agentPrompts([prompt(long)], T);
    const a = signal(400, 3);
    const b = signal(240, 4);
    rec.agentPrompts([prompt(a), { text: 'text only' }, prompt(b)], T + 500); // barge-in at sample 4000
    const files = await rec.close();
    expect(files).toEqual([join(dir, 'Bot_one.wav')]);
    const wav = parseWav(new Uint8Array(await readFile(files[0])));
    expect(wav.channels).toBe(2);
    const s = decodeToPcm16(wav.data, 'linear16');
    const right = s.filter((_, i) => i % 2 === 1);
    const left = s.filter((_, i) => i % 2 === 0);
    expect(right.length).toBe(4640);
    expect(right.subarray(0, 4000)).toEqual(long.subarray(0, 4000));
    expect(right.subarray(4000, 4400)).toEqual(a);
    expect(right.subarray(4400)).toEqual(b);
    expect(zeros(left)).toBe(true);
  });

  it('writes periodically a second behind the clock, and late caller frames are kept', async () => {
    const rec = recording();
    const input = rec.callerInput(8000, false, T)!;
    const first = signal(16000, 6); // 2 s
    for (const f of frames(first)) input.push(f);
    await rec.flush(T + 1500); // up to 0.5 s
    expect((await read(rec.files[0])).length).toBe(4000);
    await rec.flush(T + 10_000); // never past the audio
    expect((await read(rec.files[0])).length).toBe(16000);
    const late = rec.callerInput(8000, false, T + 1000)!; // anchored before what is written: continues after it
    const more = signal(160, 8);
    late.push(more);
    const [caller] = await Promise.all((await rec.close()).map(read));
    expect(caller.subarray(0, 16000)).toEqual(first);
    expect(caller.subarray(16000)).toEqual(more);
  });

  it('resamples a 16 kHz caller (filtered, as it streams) and 16 kHz prompts to the call rate', async () => {
    const rec = recording();
    const input = rec.callerInput(16000, false, T)!;
    // 200 plus a tone at 8 kHz, which an 8 kHz file cannot hold: the filter must take it out, not fold it in.
    for (let f = 0; f < 50; f++) input.push(Int16Array.from({ length: 320 }, (_, i) => (i % 2 ? 100 : 300)));
    rec.agentPrompts([{ audio: { format: { encoding: 'linear16', sampleRate: 16000 }, data: encodeFromPcm16(new Int16Array(1600).fill(1000), 'linear16') } }], T);
    const [caller, agent] = await Promise.all((await rec.close()).map(read));
    expect(caller.length).toBe(8000); // 1 s, the filter's held-back tail included
    for (const s of caller.subarray(100, 7900)) expect(Math.abs(s - 200)).toBeLessThanOrEqual(2);
    expect(caller.subarray(7965).every((s) => s > 50)).toBe(true); // the held-back tail, released at close
    expect(agent.length).toBe(8000);
    expect(agent.subarray(100, 700).every((s) => Math.abs(s - 1000) <= 2)).toBe(true);
  });

  it('a new audio RPC first finishes the previous one at another rate', async () => {
    const rec = recording();
    const first = rec.callerInput(16000, false, T)!;
    for (let f = 0; f < 10; f++) first.push(new Int16Array(320).fill(1000)); // 200 ms
    const second = rec.callerInput(8000, false, T + 200)!; // right after: the tail of the first lands before it
    for (let f = 0; f < 10; f++) second.push(new Int16Array(160).fill(-1000));
    const [caller] = await Promise.all((await rec.close()).map(read));
    expect(caller.length).toBe(3200);
    expect(caller.subarray(100, 1550).every((s) => Math.abs(s - 1000) <= 2)).toBe(true);
    expect(caller.subarray(1565, 1600).every((s) => s > 100)).toBe(true); // the first's tail, not silence
    expect(caller.subarray(1600).every((s) => s === -1000)).toBe(true);
  });

  it('logs a write failure once and never throws into the call', async () => {
    const notAFolder = join(dir, 'file');
    await writeFile(notAFolder, 'x');
    const rec = recording({}, join(notAFolder, 'rec'));
    const input = rec.callerInput(8000, false, T)!;
    for (const f of frames(signal(16000))) input.push(f);
    rec.agentPrompts([prompt(signal(800))], T);
    await rec.flush(T + 5000);
    input.push(signal(160)); // ignored from now on
    rec.agentPrompts([prompt(signal(800))], T + 3000);
    expect(rec.callerInput(8000, false, T + 3000)).toBeUndefined();
    await expect(rec.close()).resolves.toEqual([]);
    expect(log.error).toHaveBeenCalledTimes(1);
    expect(log.error.mock.calls[0][1]).toMatch(/call recording failed/);
  });

  it('stops (logged) when the disk takes no write while more than max_pending_seconds of audio waits', async () => {
    // A real stall: every libuv thread blocked opening a FIFO nobody reads, so the recording's file I/O waits.
    const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const fifos = Array.from({ length: threads }, (_, i) => join(dir, `stall-${i}`));
    for (const f of fifos) execFileSync('mkfifo', [f]);
    const blocked = fifos.map((f) => open(f, 'w'));
    const rec = recording({ max_pending_seconds: 30 });
    try {
      const input = rec.callerInput(8000, false, T)!;
      for (const f of frames(signal(8000 * 3))) input.push(f);
      void rec.flush(T + 3000); // the first write: stuck behind the blocked threads
      for (let s = 4; s <= 30; s++) {
        for (const f of frames(signal(8000))) input.push(f);
        void rec.flush(T + s * 1000);
      }
      void rec.flush(T + 32_000); // 30 s waiting (2 s went into the stuck write)
      expect(rec.stopped).toBe(false); // up to the limit it waits
      void rec.flush(T + 33_000);
      expect(rec.stopped).toBe(true);
      expect(rec.callerInput(8000, false, T + 33_000)).toBeUndefined();
    } finally {
      // Unblock the threads: a reader on each FIFO lets the blocked opens complete.
      const readers = fifos.map((f) => openSync(f, constants.O_RDONLY | constants.O_NONBLOCK));
      for (const fh of await Promise.all(blocked)) await fh.close();
      for (const fd of readers) closeSync(fd);
    }
    await expect(rec.close()).resolves.toEqual([]);
    await rec.writing; // the stuck write, let go, finds the recording closed: no file, no open handle
    expect(await readdir(dir)).toEqual(fifos.map((f) => f.slice(dir.length + 1)));
    expect(log.error).toHaveBeenCalledTimes(1);
    expect(String(log.error.mock.calls[0][0].err)).toMatch(/no write completed while 31 s of audio queued up \(max_pending_seconds\)/);
  });

  it('treats a prompt it cannot decode as a recording failure, not a call failure', async () => {
    const rec = recording();
    expect(() => rec.agentPrompts([{ audio: { format: { encoding: 'gsm' as never, sampleRate: 8000 }, data: new Uint8Array(10) } }], T)).not.toThrow();
    await expect(rec.close()).resolves.toEqual([]);
    expect(log.error).toHaveBeenCalledTimes(1);
  });

  it('writes nothing for a call without audio', async () => {
    const rec = recording();
    rec.agentPrompts([{ text: 'text only' }], T + 10);
    expect(await rec.close()).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });
});
