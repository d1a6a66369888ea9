import { MULAW_8K, bytesPerSample, durationMs } from './format';

describe('format', () => {
  it('MULAW_8K is 8 kHz mu-law and frozen', () => {
    expect(MULAW_8K).toEqual({ encoding: 'mulaw', sampleRate: 8000 });
    expect(Object.isFrozen(MULAW_8K)).toBe(true);
  });

  it('bytesPerSample', () => {
    expect(bytesPerSample('mulaw')).toBe(1);
    expect(bytesPerSample('alaw')).toBe(1);
    expect(bytesPerSample('linear16')).toBe(2);
    expect(() => bytesPerSample('opus' as never)).toThrow(RangeError);
  });

  it('durationMs', () => {
    expect(durationMs(160, MULAW_8K)).toBe(20);
    expect(durationMs(640, { encoding: 'linear16', sampleRate: 16000 })).toBe(20);
    expect(durationMs(641, { encoding: 'linear16', sampleRate: 16000 })).toBe(20); // half sample ignored
    expect(durationMs(1, { encoding: 'alaw', sampleRate: 44100 })).toBeCloseTo(1000 / 44100, 12);
    expect(durationMs(0, MULAW_8K)).toBe(0);
    expect(() => durationMs(-1, MULAW_8K)).toThrow(RangeError);
    expect(() => durationMs(10, { encoding: 'mulaw', sampleRate: 0 })).toThrow(RangeError);
  });
});
