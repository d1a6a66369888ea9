import { meanInterval, median } from './stats';

describe('median (bench verdicts)', () => {
  it('is the middle value of an odd count, whatever the order', () => {
    expect(median([1.11, 1.01, 1.06])).toBe(1.06);
    expect(median([7])).toBe(7);
  });

  it('is the mean of the two middle values of an even count, not the more favourable one', () => {
    // Two monitoring pairs of 1.013 and 1.110 must not pass a 1.05 target.
    expect(median([1.11, 1.013])).toBeCloseTo(1.0615, 10);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('is null for no values and leaves its input alone', () => {
    expect(median([])).toBeNull();
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe('meanInterval (the spread of bench pairs)', () => {
  it("is the mean with Student's t 95% interval of the values' standard error", () => {
    // mean 1.04, sample sd sqrt(0.0032 / 3), n 4 (3 degrees of freedom): half-width 3.182 * sd / 2.
    const m = meanInterval([1.0, 1.04, 1.08, 1.04])!;
    expect(m.mean).toBeCloseTo(1.04, 10);
    expect(m.high - m.mean).toBeCloseTo((3.182 * Math.sqrt(0.0032 / 3)) / 2, 10);
    expect(m.mean - m.low).toBeCloseTo(m.high - m.mean, 10);
  });

  it('narrows as values agree and uses 1.96 past ten degrees of freedom', () => {
    const xs = Array.from({ length: 20 }, (_, i) => 1 + (i % 2 ? 0.01 : -0.01));
    const m = meanInterval(xs)!;
    const sd = Math.sqrt((20 * 0.0001) / 19);
    expect(m.high - m.mean).toBeCloseTo((1.96 * sd) / Math.sqrt(20), 10);
    expect(meanInterval([1, 1, 1])).toEqual({ mean: 1, low: 1, high: 1 });
  });

  it('is null for fewer than two values', () => {
    expect(meanInterval([])).toBeNull();
    expect(meanInterval([1.02])).toBeNull();
  });
});
