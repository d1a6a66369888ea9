import { SpeechEvent } from '../speech-endpointer';
import { SpeechSegmenter, type SegmenterOptions } from './speech-segmenter';

const W = 256; // samples per 32 ms window at 8 kHz
const DEFAULTS: SegmenterOptions = { startDebounceMs: 96, endSilenceMs: 1000, speechEndGraceMs: 0, maxPauseMerges: 2 };

/** Feeds a verdict string ('#' speech, '.' silence) one 32 ms window per character. */
function run(pattern: string, opts: Partial<SegmenterOptions> = {}) {
  const events: Array<[SpeechEvent, number]> = [];
  const s = new SpeechSegmenter(32, { ...DEFAULTS, ...opts }, (ev, at) => events.push([ev, at / W]));
  [...pattern].forEach((c, i) => s.window(c === '#', (i + 1) * W));
  return events; // positions in windows
}
const rep = (c: string, n: number) => c.repeat(n);

describe('SpeechSegmenter', () => {
  it('starts on the third consecutive speech window (96 ms) and ends after 32 silent ones (1024 ms)', () => {
    expect(run(rep('.', 5) + rep('#', 10) + rep('.', 40))).toEqual([
      [SpeechEvent.Started, 8],
      [SpeechEvent.Ended, 15 + 32],
    ]);
  });

  it('does not start on two speech windows, and a silent window resets the debounce', () => {
    expect(run('##.##.#.##' + rep('.', 40))).toEqual([]);
  });

  it('a speech window resets the end silence', () => {
    const ev = run(rep('#', 3) + rep('.', 31) + '#' + rep('.', 32));
    expect(ev).toEqual([
      [SpeechEvent.Started, 3],
      [SpeechEvent.Ended, 3 + 31 + 1 + 32],
    ]);
  });

  it('start_debounce_ms 0 starts on the first speech window', () => {
    expect(run('..#', { startDebounceMs: 0 })[0]).toEqual([SpeechEvent.Started, 3]);
  });

  describe('grace', () => {
    const grace = { speechEndGraceMs: 640, maxPauseMerges: 2 }; // 20 windows

    it('reports the end where the end silence was reached, once the grace passed without speech', () => {
      expect(run(rep('#', 5) + rep('.', 32) + rep('.', 19), grace)).toEqual([[SpeechEvent.Started, 3]]);
      expect(run(rep('#', 5) + rep('.', 32) + rep('.', 20), grace)).toEqual([
        [SpeechEvent.Started, 3],
        [SpeechEvent.Ended, 5 + 32],
      ]);
    });

    it('speech resuming (debounced) within the grace continues the same utterance', () => {
      const ev = run(rep('#', 5) + rep('.', 32) + rep('.', 10) + rep('#', 5) + rep('.', 32 + 20), grace);
      expect(ev).toEqual([
        [SpeechEvent.Started, 3],
        [SpeechEvent.Ended, 5 + 32 + 10 + 5 + 32],
      ]);
    });

    it('a resumption must be debounced within the grace: a click does not merge', () => {
      const ev = run(rep('#', 5) + rep('.', 32) + '##.' + rep('.', 30), grace);
      expect(ev).toEqual([
        [SpeechEvent.Started, 3],
        [SpeechEvent.Ended, 37],
      ]);
    });

    it('speech beginning at the end of the grace but debounced after it starts a new utterance', () => {
      const ev = run(rep('#', 5) + rep('.', 32) + rep('.', 18) + rep('#', 4), grace);
      expect(ev).toEqual([
        [SpeechEvent.Started, 3],
        [SpeechEvent.Ended, 37],
        [SpeechEvent.Started, 37 + 18 + 3],
      ]);
    });

    it('merges at most max_pause_merges pauses per utterance, then ends without waiting', () => {
      const pause = rep('.', 32) + rep('.', 5) + rep('#', 4);
      const ev = run(rep('#', 5) + pause + pause + rep('.', 32) + rep('#', 4), grace);
      const end = 5 + 2 * pause.length + 32;
      expect(ev).toEqual([
        [SpeechEvent.Started, 3],
        [SpeechEvent.Ended, end],
        [SpeechEvent.Started, end + 3],
      ]);
    });

    it('the merge count starts again with each utterance', () => {
      const pause = rep('.', 32) + rep('.', 5) + rep('#', 4);
      const utterance = rep('#', 5) + pause + pause + rep('.', 32);
      const ev = run(utterance + utterance, grace);
      expect(ev.map(([e]) => e)).toEqual([SpeechEvent.Started, SpeechEvent.Ended, SpeechEvent.Started, SpeechEvent.Ended]);
    });

    it('max_pause_merges 0 disables the grace', () => {
      expect(run(rep('#', 5) + rep('.', 32), { ...grace, maxPauseMerges: 0 })).toEqual([
        [SpeechEvent.Started, 3],
        [SpeechEvent.Ended, 37],
      ]);
    });
  });
});
