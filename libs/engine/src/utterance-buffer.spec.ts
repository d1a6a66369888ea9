import { UtteranceBuffer } from './utterance-buffer';

const seq = (from: number, n: number) => Int16Array.from({ length: n }, (_, i) => from + i);

describe('UtteranceBuffer', () => {
  it('starts the utterance with the last pre-roll of audio, in order, then appends', () => {
    const u = new UtteranceBuffer(5, 4);
    u.remember(seq(0, 3));
    u.remember(seq(3, 4)); // ring now holds 2..6
    u.begin();
    u.append(seq(7, 10)); // forces growth
    expect(Array.from(u.take())).toEqual(Array.from(seq(2, 15)));
    expect(u.take()).toHaveLength(0); // taken once: the next utterance starts empty
  });

  it('keeps only the tail of a frame larger than the pre-roll', () => {
    const u = new UtteranceBuffer(3, 8);
    u.remember(seq(0, 10));
    u.begin();
    expect(Array.from(u.take())).toEqual([7, 8, 9]);
  });

  it('works with no audio before speech', () => {
    const u = new UtteranceBuffer(3, 8);
    u.begin();
    u.append(seq(1, 2));
    expect(Array.from(u.take())).toEqual([1, 2]);
  });
});
