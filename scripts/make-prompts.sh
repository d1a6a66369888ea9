#!/usr/bin/env bash
# Regenerates the gateway's bundled prompts in audio/ as 8 kHz mono mu-law WAV
# (what Webex Contact Center plays without transcoding), using espeak-ng + SoX.
# Needs: apt-get install espeak-ng sox
set -euo pipefail

out_dir="$(cd "$(dirname "$0")/.." && pwd)/audio"
voice="${VOICE:-en-us}"
speed="${SPEED:-150}" # words per minute; a touch slower than espeak's default reads better on a phone

for tool in espeak-ng sox soxi; do
  command -v "$tool" >/dev/null || { echo "make-prompts: $tool not found (apt-get install espeak-ng sox)" >&2; exit 1; }
done

declare -A prompts=(
  [welcome]="Hello, welcome to the Webex Contact Center virtual agent gateway. How can I help you today?"
  [default_response]="Thank you. I heard you. Press 5 to speak with an agent, or 6 to end the call."
  [transferring]="Transferring you to an agent. Please wait."
  [goodbye]="Thank you for calling. Goodbye!"
  [error]="Sorry, something went wrong. Please try again."
  [no_input]="Sorry, I did not hear anything. How can I help you?"
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out_dir"

for name in "${!prompts[@]}"; do
  espeak-ng -v "$voice" -s "$speed" -w "$tmp/$name.wav" "${prompts[$name]}"
  # -D: no dither, so reruns produce identical files. highpass drops rumble a handset
  # cannot reproduce; rate -v is SoX's high-quality anti-aliased resampler; norm -3
  # gives every prompt the same peak level; espeak's ~0.4 s tail is cut to 0.2 s, and
  # 0.1 s lead-in keeps the first word from being clipped when playback starts.
  sox -V1 -D "$tmp/$name.wav" -t wav -r 8000 -c 1 -e u-law -b 8 "$out_dir/$name.wav" \
    highpass 100 rate -v 8000 norm -3 reverse silence 1 0.02 -50d reverse pad 0.1 0.2
done

# Fail loudly if anything but 8 kHz mono 8-bit mu-law came out.
for name in $(printf '%s\n' "${!prompts[@]}" | sort); do
  f="$out_dir/$name.wav"
  got="$(soxi -r "$f") $(soxi -c "$f") $(soxi -b "$f") $(soxi -e "$f")"
  [[ "$got" == "8000 1 8 u-law" ]] || { echo "make-prompts: $f is '$got'" >&2; exit 1; }
  printf '%-22s %6ss %7s bytes\n' "$name.wav" "$(soxi -D "$f")" "$(stat -c %s "$f")"
done
