#!/usr/bin/env bash
# Regenerates the G.711 reference vectors from SoX, an independent implementation:
#   mulaw-decode.s16 / alaw-decode.s16  Int16 LE decoded value for codes 0..255
#   mulaw-encode.u8  / alaw-encode.u8   code for every 16-bit input -32768..32767, in that order
#
# -D disables dither, otherwise SoX adds noise on every 16->8-bit conversion.
#
# SoX's encoder is not the ITU-T G.191 reference that g711.ts implements: it rounds the
# 16-bit input to 14 (mu-law) / 13 (A-law) bits instead of dropping the low bits, and its
# mu-law folds negative values with -x where G.191 uses ~x. So SoX(x) = G.191(x') with
#   mu-law: v = min((x + 2) >> 2, 8191); x' = v >= 0 ? 4v : 4(v - 1)   (clamped to int16)
#   A-law:  x' = min(x + 4, 32767)
# g711.spec.ts checks all 65536 codes through that mapping, and that the raw disagreements
# are only tie-breaks between neighbouring codes.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

node -e 'const b = Buffer.alloc(131072); for (let i = 0; i < 65536; i++) b.writeInt16LE(i - 32768, 2 * i); process.stdout.write(b)' >"$tmp/all.s16"
node -e 'process.stdout.write(Buffer.from(Uint8Array.from({ length: 256 }, (_, i) => i)))' >"$tmp/codes.u8"

# -V1: the top inputs overflow SoX's rounding and it warns about "clipping"; expected.
pcm=(-t raw -r 8000 -c 1 -e signed-integer -b 16 -L)
for law in mu-law a-law; do
  name=${law/-law/law} # mu-law -> mulaw, a-law -> alaw
  sox -V1 -D "${pcm[@]}" "$tmp/all.s16" -t raw -e "$law" -b 8 "$name-encode.u8"
  sox -V1 -D -t raw -r 8000 -c 1 -e "$law" -b 8 "$tmp/codes.u8" "${pcm[@]}" "$name-decode.s16"
done
ls -l ./*.u8 ./*.s16
