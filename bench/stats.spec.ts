import { median } from './stats';

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
