import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encodeFromPcm16, parseWav, writeWav } from '@app/audio';
import { EventInput_EventType, voiceVAResponse } from '@app/proto';
import { runCli as runCliInProcess } from './cli';
import { chunkResponse, FakeByovaServer, wavPrompt } from './testing/fake-byova-server';

const ROOT = resolve(__dirname, '../../..');

// Async spawn: the fake server lives in this process and must keep serving while the CLI runs.
function runCli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'libs/simulator/src/cli.ts', ...args], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, out }));
  });
}

describe('simulate CLI', () => {
  let server: FakeByovaServer;
  let dir: string;

  beforeAll(async () => {
    server = await new FakeByovaServer().start();
    dir = await mkdtemp(join(tmpdir(), 'byova-sim-'));
    // 16 kHz linear PCM on purpose: the CLI must convert to the 8 kHz mu-law call format.
    const pcm = new Int16Array(16000 * 0.2).map((_, i) => Math.round(6000 * Math.sin(i / 3)));
    await writeFile(join(dir, 'hello.wav'), writeWav(encodeFromPcm16(pcm, 'linear16'), { encoding: 'linear16', sampleRate: 16000 }));
  });
  afterAll(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a call end to end and saves prompts as WAV files', async () => {
    server.eoiAfterFrames = 5;
    // CHUNK mode for the whole call: the mode is fixed per call.
    server.onSessionStart = () => [chunkResponse(800, 'Hi'), chunkResponse(800), voiceVAResponse({})];
    server.onAudio = (frames) => [chunkResponse(400, `heard ${frames} frames`), voiceVAResponse({})];
    const out = join(dir, 'out');
    const { code, out: stdout } = await runCli(['--target', server.target, '--agent', 'bot', '--conversation', 'conv1', '--wav', join(dir, 'hello.wav'), '--dtmf', '1#', '--silence', '60', '--trailing', '100', '--no-pace', '--out', out]);
    expect(stdout).toContain('#1 SESSION_START  OK');
    expect(code).toBe(0);
    expect(stdout).toMatch(/#2 audio {2}OK/);
    expect(stdout).toMatch(/END_OF_INPUT/);
    expect(stdout).toContain('prompt 1 (CHUNK): "Hi" 1600 B');
    expect(stdout).toContain('"you pressed 1,16"');
    expect(stdout).toMatch(/#6 SESSION_END {2}OK/);
    expect(stdout).toContain('6 turn(s), 0 not OK, 0 protocol violation(s)');

    // Steps ran in argv order after SESSION_START: wav, dtmf (2 RPCs), silence, then SESSION_END.
    const kinds = server.rpcs.map((r) => {
      const req = r.requests[0]?.req;
      return req?.eventInput ? EventInput_EventType[req.eventInput.eventType] : req?.dtmfInput ? 'dtmf' : 'audio';
    });
    expect(kinds).toEqual(['SESSION_START', 'audio', 'START_OF_DTMF', 'dtmf', 'audio', 'SESSION_END']);
    expect(server.rpcs[1].requests[0].req.audioInput?.callerAudio.length).toBe(160);
    expect(server.rpcs[0].requests[0].req.conversationId).toBe('conv1');

    expect((await readdir(out)).sort()).toEqual(['conv1-1-1.wav', 'conv1-2-1.wav', 'conv1-5-1.wav']);
    // Raw CHUNK audio wrapped in the call format.
    const chunkWav = parseWav(await readFile(join(out, 'conv1-1-1.wav')));
    expect(chunkWav).toMatchObject({ sampleRate: 8000, sampleFormat: 'mulaw', channels: 1 });
    expect(chunkWav.data.length).toBe(1600);
    expect(parseWav(await readFile(join(out, 'conv1-2-1.wav'))).data.length).toBe(400);
  }, 20000);

  it('keeps a FINAL\'s WAV prompt as sent (WAV-mode call)', async () => {
    server.onSessionStart = () => [voiceVAResponse({ prompts: [wavPrompt('Welcome')] })];
    const out = join(dir, 'out-wav');
    const lines: string[] = [];
    const code = await runCliInProcess(['--target', server.target, '--agent', 'bot', '--conversation', 'conv2', '--no-pace', '--out', out], (s) => lines.push(s));
    expect(code).toBe(0);
    expect(lines.at(-1)).toBe('2 turn(s), 0 not OK, 0 protocol violation(s)');
    expect(await readFile(join(out, 'conv2-1-1.wav'))).toEqual(Buffer.from(wavPrompt('Welcome').audioContent));
  });

  it('exits 1 when a turn fails and prints the status', async () => {
    const { code, out } = await runCli(['--target', server.target, '--agent', 'fail', '--out', join(dir, 'out2')]);
    expect(out).toContain('NOT_FOUND (no such agent)');
    expect(code).toBe(1);
  }, 20000);

  it('prints usage on --help and rejects bad arguments', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: npm run simulate');
    const bad = await runCli(['--dtmf', '12x']);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('invalid character "x"');
  }, 20000);

  it('rejects TLS flags that cannot work, naming the flag', async () => {
    const out = async (args: string[]) => {
      const lines: string[] = [];
      expect(await runCliInProcess(args, (s) => lines.push(s))).toBe(1);
      return lines[0];
    };
    expect(await out(['--cert', 'client.crt'])).toMatch(/^--cert and --key go together/);
    expect(await out(['--ca', join(dir, 'missing-ca.pem')])).toMatch(/^--ca: cannot read .*missing-ca\.pem \(ENOENT\)/);
    expect(await out(['--server-name', 'localhost'])).toMatch(/^--server-name needs TLS/);
  });
});
