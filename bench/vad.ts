// VAD bench: CPU per call-second of the speech endpointers (silence, line noise, speech) with many concurrent
// streams, and their accuracy on the labelled corpus (test/corpus). Run by `npm run bench` after the server
// bench, or alone with `npm run bench -- --vad`.
import { writeFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { resamplePcm16 } from '@app/audio';
import { buildGatewayConfig, createLogger } from '@app/config';
import { SpeechEvent, type SpeechEndpointer, type SpeechEndpointerFactory } from '@app/endpointing';
import { createSpeechEndpointerFactory } from '@app/endpointing';
import { loadCorpus, type CorpusFile } from '../test/corpus/corpus';
import { detectCorpus, END_SILENCE_MS, scoreFile, type FileScore, TOLERANCE_MS, type VadEngine, vadConfig } from '../test/corpus/score';

export interface VadBenchOptions {
  /** Concurrent endpointers fed in lockstep (so a batching detector batches across them). */
  streams: number;
  /** Audio per stream in one measured window. */
  seconds: number;
  /** Measured windows per case (after a 1 s warm-up); the median is reported. */
  repeats: number;
  rates: Array<8000 | 16000>;
  engines: VadEngine[];
  /** Corpus accuracy pass (paced in real time, all files at once). */
  accuracy: boolean;
}

export const VAD_DEFAULTS: VadBenchOptions = { streams: 100, seconds: 3, repeats: 5, rates: [8000, 16000], engines: ['energy', 'silero'], accuracy: true };
export const VAD_QUICK: VadBenchOptions = { ...VAD_DEFAULTS, repeats: 1, rates: [8000] };
/** Idle time after a detector is made, so its start-up work (compilation, GC) is not measured. */
const SETTLE_MS = 1500;

const FRAME_MS = 20;
/** Groups of streams fed at different moments of each frame period. */
const PHASES = 10;
const WARMUP_S = 1;
/** After the last frame, for decisions still being computed off the event loop. */
const DRAIN_MS = 200;
const TARGET_MS_PER_CALL_S = { speech: 1, silence: 0.1 } as const;

type AudioKind = 'silence' | 'noise' | 'speech';

export interface CpuRow {
  engine: VadEngine;
  rate: number;
  audio: AudioKind;
  /**
   * The figure judged against the targets: `pushMsPerCallS` when the detector did all its work inside push()
   * (nothing scored asynchronously: exact, and free of the harness's noise), else `netMsPerCallS`.
   */
  msPerCallS: number;
  method: 'push' | 'process';
  /** Process CPU (all threads) per call-second, minus the harness baseline. */
  netMsPerCallS: number;
  /** The same without subtracting the baseline. */
  rawMsPerCallS: number;
  /** Main-thread time inside push() per call-second: exact for synchronous work, excludes inference threads. */
  pushMsPerCallS: number;
  /** Every measured window's raw figure, to judge the spread. */
  windows: number[];
  /** Windows the detector scored off the main thread (Silero's model) while measured. */
  modelWindows: number;
  starts: number;
  ends: number;
}

export interface AccuracyRow extends FileScore {
  pauses: number;
  labelStartMs?: number;
  labelEndMs?: number;
}

export interface VadBenchResult {
  when: string;
  options: VadBenchOptions;
  detectors: Record<string, { kind: string; degraded?: string }>;
  baselineMsPerCallS: Record<number, number>;
  cpu: CpuRow[];
  accuracy: Record<string, AccuracyRow[]>;
  targets: string[];
}

/** An endpointer that does nothing: what the feeding harness itself costs. */
const NONE: SpeechEndpointerFactory = { kind: 'none', create: () => ({ push: () => undefined, close: () => undefined }) };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Test audio at `rate`, long enough to loop through: the corpus' clean speech spans, its quiet line noise, or zeros. */
function sources(corpus: CorpusFile[], rate: number): Record<AudioKind, Int16Array> {
  const at = (f: CorpusFile) => (f.sample_rate === rate ? f.pcm : resamplePcm16(f.pcm, f.sample_rate, rate));
  const cat = (parts: Int16Array[]) => {
    const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((o, p) => (out.set(p, o), o + p.length), 0);
    return out;
  };
  const speech = corpus
    .filter((f) => f.noise === null && f.speech !== null)
    .map((f) => {
      const pcm = at(f);
      const k = rate / f.sample_rate;
      return pcm.subarray(Math.floor(f.speech!.start_sample * k), Math.ceil(f.speech!.end_sample * k));
    });
  // The quietest line noise (a normal line: what callers' silence really is).
  const noise = corpus.filter((f) => f.kind === 'noise').sort((a, b) => a.noise!.rms_dbfs - b.noise!.rms_dbfs)[0];
  return { silence: new Int16Array(rate * 4), noise: at(noise), speech: cat(speech) };
}

/**
 * Feeds `streams` endpointers 20 ms frames in real time, each stream at its own offset in `audio`. As calls'
 * frames reach a gateway at unrelated moments, the streams are spread over the frame period in PHASES groups
 * (one timer per group), not fed in lockstep (which would hand a batching detector full batches for free).
 * After a warm-up, measures `repeats` windows of `seconds` and keeps the median: single windows catch GC and
 * JIT bursts on a shared machine.
 */
async function measure(factory: SpeechEndpointerFactory, rate: number, audio: Int16Array, o: VadBenchOptions) {
  const frame = (rate * FRAME_MS) / 1000;
  // Views made once, so feeding allocates nothing the endpointer is charged for.
  const views = Array.from({ length: Math.floor(audio.length / frame) }, (_, i) => audio.subarray(i * frame, (i + 1) * frame));
  let starts = 0;
  let ends = 0;
  const eps: Array<{ ep: SpeechEndpointer; pos: number }> = [];
  for (let i = 0; i < o.streams; i++) {
    const ep = factory.create(rate, (ev) => (ev === SpeechEvent.Started ? starts++ : ends++));
    eps.push({ ep, pos: (i * 37) % views.length }); // spread, so streams are not all at the same word
  }
  const groups = Array.from({ length: PHASES }, (_, g) => eps.filter((_, i) => i % PHASES === g));
  let pushMs = 0;
  const feed = async (n: number) => {
    const t0 = performance.now();
    for (let k = 0; k < n * PHASES; k++) {
      const p0 = performance.now();
      for (const s of groups[k % PHASES]) {
        s.ep.push(views[s.pos]);
        if (++s.pos === views.length) s.pos = 0;
      }
      pushMs += performance.now() - p0;
      const wait = t0 + ((k + 1) * FRAME_MS) / PHASES - performance.now();
      await (wait > 0 ? sleep(wait) : new Promise((r) => setImmediate(r)));
    }
  };
  await feed((WARMUP_S * 1000) / FRAME_MS);
  await sleep(DRAIN_MS);
  const callS = o.streams * o.seconds;
  const windows: Array<{ msPerCallS: number; pushMsPerCallS: number }> = [];
  const modelWindows0 = modelWindows(factory);
  for (let w = 0; w < o.repeats; w++) {
    pushMs = 0;
    const cpu0 = process.cpuUsage();
    await feed((o.seconds * 1000) / FRAME_MS);
    await sleep(DRAIN_MS);
    const cpu = process.cpuUsage(cpu0);
    windows.push({ msPerCallS: (cpu.user + cpu.system) / 1000 / callS, pushMsPerCallS: pushMs / callS });
  }
  const scored = modelWindows(factory) - modelWindows0;
  for (const s of eps) s.ep.close();
  windows.sort((a, b) => a.msPerCallS - b.msPerCallS);
  return { ...windows[(windows.length - 1) >> 1], windows: windows.map((x) => x.msPerCallS), starts, ends, modelWindows: scored };
}

/** Windows a batching detector has scored so far (0 for one that does everything in push()). */
function modelWindows(factory: SpeechEndpointerFactory): number {
  return (factory as { scorer?: { stats?: { windows: number } } }).scorer?.stats?.windows ?? 0;
}

/**
 * The detector exactly as the gateway builds it from config (so Silero's model loading and fallback apply),
 * without a gateway around it: the baseline runs without one either.
 */
async function withDetector<T>(engine: VadEngine, fn: (f: SpeechEndpointerFactory) => Promise<T>): Promise<T> {
  const config = buildGatewayConfig({ voice_activity_detection: vadConfig(engine) });
  return fn(await createSpeechEndpointerFactory(config.voice_activity_detection, { baseDir: process.cwd(), log: createLogger('warn') }));
}

const f2 = (n: number | undefined) => (n === undefined ? '-' : n < 0.01 ? n.toFixed(4) : n < 1 ? n.toFixed(3) : n.toFixed(2));
const out = (s: string) => process.stdout.write(s);

export async function runVadBench(o: VadBenchOptions, resultsDir?: string): Promise<VadBenchResult> {
  const corpus = loadCorpus();
  const result: VadBenchResult = { when: new Date().toISOString(), options: o, detectors: {}, baselineMsPerCallS: {}, cpu: [], accuracy: {}, targets: [] };
  out(
    `\nVAD bench: ${o.streams} streams fed ${FRAME_MS} ms frames in real time, spread over ${PHASES} moments of the frame period; per case ${WARMUP_S} s warm-up, then the median of ${o.repeats} window(s) of ${o.seconds} s; ` +
      `CPU = process.cpuUsage() (all threads, inference included) minus the same harness with a no-op endpointer.\n`,
  );
  const srcs = Object.fromEntries(o.rates.map((r) => [r, sources(corpus, r)]));
  // Settle first (the corpus was just loaded and converted: its garbage and JIT work would land in the baseline),
  // and take twice the windows: every net figure leans on this one.
  await sleep(SETTLE_MS);
  for (const rate of o.rates) {
    const base = await measure(NONE, rate, srcs[rate].silence, { ...o, repeats: 2 * o.repeats });
    result.baselineMsPerCallS[rate] = base.msPerCallS;
    out(`  baseline (no-op endpointer) at ${rate} Hz: ${f2(base.msPerCallS)} ms/call-s (${base.windows.map(f2).join('/')})\n`);
  }

  for (const engine of o.engines) {
    await withDetector(engine, async (factory) => {
      result.detectors[engine] = { kind: factory.kind, degraded: factory.degraded };
      await sleep(SETTLE_MS);
      if (factory.kind !== engine) {
        out(`  ${engine}: not available (the gateway runs ${factory.kind}${factory.degraded ? `: ${factory.degraded}` : ''}), skipped\n`);
        return;
      }
      for (const rate of o.rates) {
        for (const audio of ['silence', 'noise', 'speech'] as const) {
          const m = await measure(factory, rate, srcs[rate][audio], o);
          const net = Math.max(0, m.msPerCallS - result.baselineMsPerCallS[rate]);
          const method = m.modelWindows === 0 ? 'push' : 'process';
          const row: CpuRow = {
            engine,
            rate,
            audio,
            msPerCallS: method === 'push' ? m.pushMsPerCallS : net,
            method,
            netMsPerCallS: net,
            rawMsPerCallS: m.msPerCallS,
            pushMsPerCallS: m.pushMsPerCallS,
            windows: m.windows,
            modelWindows: m.modelWindows,
            starts: m.starts,
            ends: m.ends,
          };
          result.cpu.push(row);
          out(
            `  ${engine.padEnd(6)} ${rate} Hz ${audio.padEnd(7)}: ${f2(row.msPerCallS)} ms/call-s by ${method} (process net ${f2(net)}, raw ${m.windows.map(f2).join('/')}; ` +
              `in push() ${f2(row.pushMsPerCallS)}; ${m.modelWindows} windows to the model; ${m.starts} starts, ${m.ends} ends)\n`,
          );
        }
      }
      if (o.accuracy) {
        const decisions = await detectCorpus(factory, corpus, { pace: true, trailingMs: 1000, settleMs: 500 });
        result.accuracy[engine] = corpus.map((f, i) => ({
          ...scoreFile(f, decisions[i], END_SILENCE_MS),
          pauses: f.pauses.length,
          labelStartMs: f.speech?.start_ms,
          labelEndMs: f.speech?.end_ms,
        }));
      }
    });
  }

  out(`\n${cpuTable(result)}\n`);
  for (const [engine, rows] of Object.entries(result.accuracy)) out(`\n${accuracyTable(engine, rows)}\n`);
  result.targets = targetLines(result);
  out(`\n${result.targets.join('\n')}\n`);
  if (resultsDir) {
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(resolve(resultsDir, 'vad.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(resolve(resultsDir, 'vad.md'), markdown(result));
    out(`\nWrote ${resolve(resultsDir, 'vad.json')} and vad.md\n`);
  }
  return result;
}

/** "judged figure + how it was measured" for one engine, rate and audio. */
function cell(r: VadBenchResult, engine: string, rate: number, audio: AudioKind): string | undefined {
  const c = r.cpu.find((x) => x.engine === engine && x.rate === rate && x.audio === audio);
  return c && `${f2(c.msPerCallS)} ${c.method === 'push' ? '(push)' : `(net; push ${f2(c.pushMsPerCallS)})`}`;
}

const METHOD_NOTE =
  '(push) = main-thread time inside push(), exact when the detector scored nothing asynchronously (all its work happens there); ' +
  '(net) = process CPU of all threads, inference included, minus the same harness with a no-op detector (noisier: about +-0.1 ms here).';

function cpuTable(r: VadBenchResult): string {
  const lines = [
    'CPU ms per call-second',
    METHOD_NOTE,
    `${'engine'.padEnd(7)} ${'rate'.padEnd(6)} ${'silence'.padEnd(18)} ${'line noise'.padEnd(18)} speech`,
  ];
  for (const engine of Object.keys(r.detectors)) {
    for (const rate of r.options.rates) {
      const c = (a: AudioKind) => cell(r, engine, rate, a);
      if (c('speech') === undefined) continue;
      lines.push(`${engine.padEnd(7)} ${String(rate).padEnd(6)} ${c('silence')!.padEnd(18)} ${c('noise')!.padEnd(18)} ${c('speech')}`);
    }
  }
  return lines.join('\n');
}

const sign = (n: number | undefined) => (n === undefined ? '-' : `${n > 0 ? '+' : ''}${n}`);

function accuracyTable(engine: string, rows: AccuracyRow[]): string {
  const lines = [
    `${engine} on the corpus (end_silence ${END_SILENCE_MS} ms; start err = detected - label start, end err = detected - (label end + end silence); ` +
      `ok within start [-${TOLERANCE_MS.startEarly}, +${TOLERANCE_MS.startLate}], end [-${TOLERANCE_MS.endEarly}, +${TOLERANCE_MS.endLate}] ms):`,
    `${'file'.padEnd(34)} ${'label ms'.padEnd(12)} ${'detected ms'.padEnd(12)} ${'start err'.padStart(9)} ${'end err'.padStart(8)}  result`,
  ];
  for (const x of rows) {
    const label = x.labelStartMs === undefined ? 'no speech' : `${Math.round(x.labelStartMs)}-${Math.round(x.labelEndMs!)}`;
    const det = x.startMs === undefined ? '-' : `${Math.round(x.startMs)}-${x.endMs === undefined ? '?' : Math.round(x.endMs)}`;
    lines.push(`${x.file.padEnd(34)} ${label.padEnd(12)} ${det.padEnd(12)} ${sign(x.startErrMs).padStart(9)} ${sign(x.endErrMs).padStart(8)}  ${x.ok ? 'ok' : x.problems.join('; ')}`);
  }
  const s = summary(rows);
  lines.push(
    `${s.ok}/${rows.length} files ok; mean |start err| ${s.meanStart} ms, mean |end err| ${s.meanEnd} ms; ` +
      `false starts on silence/noise ${s.falseStarts}/${s.noSpeech}; utterances split at a pause ${s.splits}/${s.withPauses}`,
  );
  return lines.join('\n');
}

function summary(rows: AccuracyRow[]) {
  const mean = (v: number[]) => (v.length ? Math.round(v.reduce((a, b) => a + Math.abs(b), 0) / v.length) : NaN);
  return {
    ok: rows.filter((x) => x.ok).length,
    meanStart: mean(rows.flatMap((x) => (x.startErrMs === undefined || x.falseStart ? [] : [x.startErrMs]))),
    meanEnd: mean(rows.flatMap((x) => (x.endErrMs === undefined || x.falseStart ? [] : [x.endErrMs]))),
    falseStarts: rows.filter((x) => x.labelStartMs === undefined && x.falseStart).length,
    noSpeech: rows.filter((x) => x.labelStartMs === undefined).length,
    splits: rows.filter((x) => x.split).length,
    withPauses: rows.filter((x) => x.pauses > 0).length,
  };
}

function targetLines(r: VadBenchResult): string[] {
  const lines: string[] = [];
  for (const engine of Object.keys(r.detectors)) {
    for (const audio of ['speech', 'silence'] as const) {
      const rows = r.cpu.filter((c) => c.engine === engine && c.audio === audio);
      if (!rows.length) continue;
      const worst = rows.reduce((a, b) => (b.msPerCallS > a.msPerCallS ? b : a));
      const target = TARGET_MS_PER_CALL_S[audio];
      lines.push(
        `Target ${engine} CPU on ${audio} < ${target} ms per call-second: ${f2(worst.msPerCallS)} (worst rate, by ${worst.method}) -> ${worst.msPerCallS < target ? 'MET' : 'NOT MET'}`,
      );
    }
  }
  return lines;
}

function markdown(r: VadBenchResult): string {
  const cpu = [
    '| engine | rate | silence | line noise | speech |',
    '| --- | --- | --- | --- | --- |',
    ...Object.keys(r.detectors).flatMap((engine) =>
      r.options.rates.flatMap((rate) => {
        const c = (a: AudioKind) => cell(r, engine, rate, a);
        return c('speech') === undefined ? [] : [`| ${engine} | ${rate} | ${c('silence')} | ${c('noise')} | ${c('speech')} |`];
      }),
    ),
  ];
  const acc = Object.entries(r.accuracy).flatMap(([engine, rows]) => {
    const s = summary(rows);
    return [
      `### ${engine}`,
      '',
      '| file | label ms | detected ms | start err | end err | result |',
      '| --- | --- | --- | --- | --- | --- |',
      ...rows.map(
        (x) =>
          `| ${x.file} | ${x.labelStartMs === undefined ? 'no speech' : `${Math.round(x.labelStartMs)}-${Math.round(x.labelEndMs!)}`} | ` +
          `${x.startMs === undefined ? '-' : `${Math.round(x.startMs)}-${x.endMs === undefined ? '?' : Math.round(x.endMs)}`} | ${sign(x.startErrMs)} | ${sign(x.endErrMs)} | ${x.ok ? 'ok' : x.problems.join('; ')} |`,
      ),
      '',
      `${s.ok}/${rows.length} ok; mean |start err| ${s.meanStart} ms, mean |end err| ${s.meanEnd} ms; false starts ${s.falseStarts}/${s.noSpeech}; splits ${s.splits}/${s.withPauses}.`,
      '',
    ];
  });
  const degraded = Object.entries(r.detectors).filter(([e, d]) => d.kind !== e);
  return [
    `# VAD bench (${r.when})`,
    '',
    `${r.options.streams} streams, ${FRAME_MS} ms frames in real time spread over ${PHASES} moments of the frame period, median of ${r.options.repeats} x ${r.options.seconds} s per case. ` +
      `CPU in ms per call-second. ${METHOD_NOTE} Harness baseline ${Object.entries(r.baselineMsPerCallS).map(([k, v]) => `${f2(v)} at ${k} Hz`).join(', ')}.`,
    '',
    ...cpu,
    '',
    ...degraded.map(([e, d]) => `- ${e} not available: ${d.degraded ?? `the gateway runs ${d.kind}`}`),
    ...r.targets.map((t) => `- ${t}`),
    '',
    '## Accuracy on test/corpus',
    '',
    ...acc,
  ].join('\n');
}

if (require.main === module) {
  runVadBench(process.argv.includes('--quick') ? VAD_QUICK : VAD_DEFAULTS, resolve(__dirname, 'results')).then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`vad bench failed: ${(e as Error).stack ?? e}\n`);
      process.exit(1);
    },
  );
}
