import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { decodeToPcm16, encodeFromPcm16, MULAW_8K, parseWav, wavToPcm16Mono } from '@app/audio';
import { CallRecorder, fileTimestamp, sanitizeFileComponent } from '@app/recording';
import type { ByovaCaller, TurnResult } from '@app/simulator';
import { scriptedLog } from '../fixtures/scripted-connector';
import { LOCAL_AGENT, localConnector, ok, scriptedConnector, sleep, speechBurst, startTestGateway, TestGateway } from './harness';

const SCRIPTED = 'Scripted: bot';
const RATE = 8000;
/** ±40 ms: how far audio may sit from where the test's clock puts it. */
const SLACK = (40 * RATE) / 1000;

/**
 * Where a turn's audio may sit: the gateway places it at its first frame's arrival, after `sentAt` (taken just
 * before sendAudio) and before the START_OF_INPUT it answered with reached the caller (a busy machine can hold
 * the first frame up for longer than SLACK).
 */
const sentWindow = (pos: (ms: number) => number, sentAt: number, r: TurnResult): [number, number] => [
  pos(sentAt) - SLACK,
  pos(sentAt + (r.startOfInputAtMs ?? r.durationMs)) + SLACK,
];
// The tests do not depend on the endpointer: audio is recorded whether or not it hears speech in it.
const TRAILING_MS = 800;

const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);

/** What the caller says: a burst at `amplitude`, sent as mu-law; `pcm` is what it decodes to (exact round trip). */
function utterance(speechMs: number, amplitude: number) {
  const data = encodeFromPcm16(speechBurst(speechMs, 0, RATE, amplitude), 'mulaw');
  return { data, pcm: decodeToPcm16(data, 'mulaw') };
}

/** First offset in [from, to] where `needle` sits in `hay` sample for sample; -1 if none. */
function findExact(hay: Int16Array, needle: Int16Array, from: number, to: number): number {
  for (let o = Math.max(0, from); o <= Math.min(to, hay.length - needle.length); o++) {
    let i = 0;
    while (i < needle.length && hay[o + i] === needle[i]) i++;
    if (i === needle.length) return o;
  }
  return -1;
}

const nonZero = (pcm: Int16Array) => pcm.reduce((n, s) => n + (s !== 0 ? 1 : 0), 0);

/** Parses a recording and checks its header sizes describe the file exactly. */
async function readRecording(path: string) {
  const bytes = new Uint8Array(await readFile(path));
  expect(u32(bytes, 4)).toBe(bytes.length - 8);
  expect(u32(bytes, 40)).toBe(bytes.length - 44);
  const wav = parseWav(bytes);
  expect([wav.sampleFormat, wav.bitsPerSample, wav.sampleRate]).toEqual(['pcm', 16, RATE]);
  return { wav, bytes: bytes.length };
}

async function mono(path: string): Promise<Int16Array> {
  const { wav } = await readRecording(path);
  expect(wav.channels).toBe(1);
  return wavToPcm16Mono(wav).samples;
}

describe('call recording (real gateway, simulator)', () => {
  let dir: string;
  let t: TestGateway | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'byova-rec-'));
  });
  afterEach(async () => {
    await t?.stop();
    t = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const start = async (connectors: Record<string, unknown>) => {
    t = await startTestGateway({ voice_activity_detection: { end_silence_ms: 400 }, connectors });
    return t;
  };
  /** The conversation's start, the recording's sample 0. */
  const startOf = (gw: TestGateway, caller: ByovaCaller) => [...gw.gw.engine.conversations()].find((c) => c.id === caller.conversationId)!.createdAt;
  const files = async () => (await readdir(dir)).sort();

  it('records the caller on the call timeline, PCI input as silence, and the agent beside it (split)', async () => {
    const gw = await start({ s: scriptedConnector({}, { recording: { enabled: true, folder: dir } }) });
    const caller = gw.caller({ agentId: SCRIPTED, conversationId: 'rec/call 1' });
    expect((await caller.startSession()).status.code).toBe(status.OK);
    const t0 = startOf(gw, caller);
    const pos = (ms: number) => Math.round(((ms - t0) * RATE) / 1000);

    const first = utterance(600, 8000);
    const at1 = Date.now();
    const r1 = await caller.sendAudio({ data: first.data, format: MULAW_8K }, { trailingSilenceMs: TRAILING_MS });
    expect(r1.status.code).toBe(status.OK);

    const dtmf = ok(await caller.sendDtmf('5')); // the scripted agent asks for the next input as sensitive
    expect(dtmf.responses.at(-1)!.inputSensitive).toBe(true);

    const secret = utterance(600, 6000);
    const at2 = Date.now();
    // Sent all right, or the silence checked below would prove nothing.
    const r2 = ok(await caller.sendAudio({ data: secret.data, format: MULAW_8K }, { trailingSilenceMs: TRAILING_MS }));
    expect(r2.framesSent).toBeGreaterThan(30);
    // An answer without `next` asks for ordinary input again, whatever the endpointer made of the audio.
    expect(ok(await caller.sendDtmf('7')).responses.at(-1)!.inputSensitive).toBe(false);

    const third = utterance(400, 4000);
    const at3 = Date.now();
    const r3 = ok(await caller.sendAudio({ data: third.data, format: MULAW_8K }, { trailingSilenceMs: TRAILING_MS }));
    await caller.endSession();
    await gw.gw.app.get(CallRecorder).whenIdle();

    const stem = `${sanitizeFileComponent('rec/call 1')}_${fileTimestamp(t0)}`;
    expect(await files()).toEqual([`${stem}_agent.wav`, `${stem}_caller.wav`]);
    const callerPcm = await mono(join(dir, `${stem}_caller.wav`));
    const agentPcm = await mono(join(dir, `${stem}_agent.wav`));
    expect(agentPcm.length).toBe(callerPcm.length);

    // Each spoken turn sits where it was sent, sample for sample.
    const o1 = findExact(callerPcm, first.pcm, ...sentWindow(pos, at1, r1));
    const o3 = findExact(callerPcm, third.pcm, ...sentWindow(pos, at3, r3));
    expect(o1).toBeGreaterThanOrEqual(0);
    expect(o3).toBeGreaterThanOrEqual(0);
    // The PCI turn is silence, and its length is kept: the turn after it is still in place (above).
    expect(nonZero(callerPcm.subarray(pos(at2) - SLACK, o3))).toBe(0);
    expect(findExact(callerPcm, secret.pcm.subarray(0, 800), 0, callerPcm.length)).toBe(-1);
    // Nothing else is in the caller file.
    expect(nonZero(callerPcm)).toBe(nonZero(first.pcm) + nonZero(third.pcm));
    // The scripted welcome is digital silence; the local agent's real prompts are checked below.
    expect(nonZero(agentPcm)).toBe(0);
    expect(scriptedLog.filter((e) => e.conversationId === caller.conversationId && e.op === 'end').map((e) => e.reason)).toEqual(['caller_hangup']);
  });

  it('records the prompts the agent sent where they were sent, beside the caller (stereo)', async () => {
    const gw = await start({ local: localConnector({ recording: { enabled: true, folder: dir, layout: 'stereo' } }) });
    const caller = gw.caller({ agentId: LOCAL_AGENT });
    const welcome = ok(await caller.startSession());
    const welcomeDone = Date.now();
    const t0 = startOf(gw, caller);
    const pos = (ms: number) => Math.round(((ms - t0) * RATE) / 1000);
    const promptPcm = (r: typeof welcome) => wavToPcm16Mono(parseWav(r.prompts[0].audio)).samples;

    await sleep(1000); // a second of welcome before the caller speaks (and may barge in)
    const said = utterance(600, 8000);
    const at1 = Date.now();
    const r1 = ok(await caller.sendAudio({ data: said.data, format: MULAW_8K }, { trailingSilenceMs: TRAILING_MS }));
    const at2 = Date.now();
    const transfer = ok(await caller.sendDtmf('5')); // transferring prompt, then the call ends
    const transferDone = Date.now();
    expect(transfer.terminal?.type).toBe('TRANSFER_TO_AGENT');
    await gw.gw.app.get(CallRecorder).whenIdle();

    const [name] = await files();
    expect(await files()).toEqual([`${sanitizeFileComponent(caller.conversationId)}_${fileTimestamp(t0)}_mixed.wav`]);
    const { wav } = await readRecording(join(dir, name));
    expect(wav.channels).toBe(2);
    const frames = decodeToPcm16(wav.data, 'linear16');
    const left = frames.filter((_, i) => i % 2 === 0);
    const right = frames.filter((_, i) => i % 2 === 1);

    expect(findExact(left, said.pcm, ...sentWindow(pos, at1, r1))).toBeGreaterThanOrEqual(0);
    // The transfer prompt is there in full, where it was sent, and the file ends with it.
    const transferPcm = promptPcm(transfer);
    const oTransfer = findExact(right, transferPcm, pos(at2) - SLACK, pos(transferDone) + SLACK);
    expect(oTransfer).toBeGreaterThan(0);
    expect(right.length).toBe(oTransfer + transferPcm.length);
    // The (7 s) welcome starts when it was sent; what played before the caller spoke is all there.
    const head = promptPcm(welcome).subarray(0, pos(at1) - pos(welcomeDone));
    expect(head.length).toBeGreaterThan(0.9 * RATE);
    const oWelcome = findExact(right, head, 0, pos(welcomeDone) + SLACK);
    expect(oWelcome).toBeGreaterThanOrEqual(0);
    expect(nonZero(right.subarray(0, oWelcome))).toBe(0);
    // The caller channel holds the caller only.
    expect(nonZero(left)).toBe(nonZero(said.pcm));
  });

  it('rotates long recordings into parts that are each valid WAVs (enabled per agent)', async () => {
    // Off in the connector's defaults, on for this agent.
    const gw2 = await start({
      s: { ...scriptedConnector({}, { recording: { folder: dir, max_file_bytes: 4044 } }), agent_defaults: { [SCRIPTED]: { recording: { enabled: true } } } },
    });
    const caller = gw2.caller({ agentId: SCRIPTED, conversationId: 'rotating' });
    await caller.startSession();
    const t0 = startOf(gw2, caller);
    const said = utterance(600, 8000);
    const at = Date.now();
    const r = ok(await caller.sendAudio({ data: said.data, format: MULAW_8K }, { trailingSilenceMs: TRAILING_MS }));
    await caller.endSession();
    await gw2.gw.app.get(CallRecorder).whenIdle();

    const names = await files();
    const callerParts = names.filter((n) => /_caller(_part\d+)?\.wav$/.test(n));
    const agentParts = names.filter((n) => /_agent(_part\d+)?\.wav$/.test(n));
    expect(callerParts.length).toBeGreaterThanOrEqual(3);
    expect(agentParts.length).toBe(callerParts.length);
    expect(names.length).toBe(callerParts.length * 2);
    // Part order: the plain name first, then _part2, _part3, ...
    const byPart = (n: string) => Number(/_part(\d+)\.wav$/.exec(n)?.[1] ?? 1);
    callerParts.sort((a, b) => byPart(a) - byPart(b));
    expect(callerParts.map(byPart)).toEqual(callerParts.map((_, i) => i + 1));
    const pcm: number[] = [];
    for (const [i, n] of callerParts.entries()) {
      const { bytes } = await readRecording(join(dir, n));
      expect(bytes).toBeLessThanOrEqual(4044);
      if (i < callerParts.length - 1) expect(bytes).toBe(4044);
      pcm.push(...(await mono(join(dir, n))));
    }
    const whole = Int16Array.from(pcm);
    expect(findExact(whole, said.pcm, ...sentWindow((ms) => Math.round(((ms - t0) * RATE) / 1000), at, r))).toBeGreaterThanOrEqual(0);
  });

  it('finalises recordings of calls still running when the gateway shuts down', async () => {
    const gw = await start({ s: scriptedConnector({}, { recording: { enabled: true, folder: dir } }) });
    const caller = gw.caller({ agentId: SCRIPTED, conversationId: 'cut-short' });
    await caller.startSession();
    const said = utterance(600, 8000);
    await caller.sendAudio({ data: said.data, format: MULAW_8K }, { trailingSilenceMs: TRAILING_MS });
    await gw.stop();
    t = undefined;
    const names = await files();
    expect(names).toHaveLength(2);
    const callerPcm = await mono(join(dir, names.find((n) => n.endsWith('_caller.wav'))!));
    expect(findExact(callerPcm, said.pcm, 0, callerPcm.length)).toBeGreaterThanOrEqual(0);
    expect(scriptedLog.filter((e) => e.conversationId === 'cut-short' && e.op === 'end').map((e) => e.reason)).toEqual(['gateway_shutdown']);
  });

  it('writes nothing when recording is off (the default)', async () => {
    const gw = await start({ s: scriptedConnector({}, { recording: { folder: dir } }) });
    const caller = gw.caller({ agentId: SCRIPTED });
    // A call that went through: with failed RPCs, no files would prove nothing.
    ok(await caller.startSession());
    ok(await caller.sendAudio({ data: utterance(600, 8000).data, format: MULAW_8K }, { trailingSilenceMs: TRAILING_MS }));
    ok(await caller.sendDtmf('5'));
    ok(await caller.endSession());
    await gw.gw.app.get(CallRecorder).whenIdle();
    await gw.stop();
    t = undefined;
    expect(await files()).toEqual([]);
  });
});
