#!/usr/bin/env bash
# Regenerates the tiny WAV fixtures in wav/ with SoX. Each is derived from ref-s16.wav
# (50 ms, 440 Hz, half scale, 8 kHz mono) so wav.spec.ts can compare decoded samples to it.
# -D: no dither, so the files are reproducible and the expected values exact.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p wav
cd wav
s() { sox -V1 -D "$@"; }

s -n -t wavpcm -r 8000 -c 1 -e signed-integer -b 16 ref-s16.wav synth 0.05 sine 440 vol 0.5
# -t wavpcm forces the plain format tag; without it SoX writes WAVE_FORMAT_EXTENSIBLE for >16 bits.
s ref-s16.wav -t wavpcm -e unsigned-integer -b 8 pcm-u8.wav
s ref-s16.wav -t wavpcm -e signed-integer -b 24 pcm-s24.wav
s ref-s16.wav -t wavpcm -e signed-integer -b 32 pcm-s32.wav
s ref-s16.wav -t wavpcm -e floating-point -b 32 float32.wav
s ref-s16.wav -t wavpcm -e floating-point -b 64 float64.wav
s ref-s16.wav -e u-law -b 8 mulaw.wav
s ref-s16.wav -e a-law -b 8 alaw.wav
s ref-s16.wav -t wav -e signed-integer -b 24 ext-s24.wav
# Stereo: right = -0.5 * left, so the mono average is 0.25 * ref.
s ref-s16.wav -t wavpcm -c 2 stereo-s16.wav remix 1 1v-0.5
# Three channels always come out as WAVE_FORMAT_EXTENSIBLE: mean is 2/3 * ref.
s ref-s16.wav -c 3 ext-3ch-s16.wav remix 1 1 1v0
for f in *.wav; do printf '%-18s %s\n' "$f" "$(soxi -t "$f") $(soxi -e "$f") $(soxi -b "$f")-bit $(soxi -c "$f")ch"; done
