#!/usr/bin/env bash
# Regenerates the Silero endpointer fixtures (committed, so tests need neither tool).
# Needs espeak-ng and sox. Speech times in labels.json are exact by construction:
# the TTS output is trimmed at about -46 dBFS, then padded with known silence.
set -euo pipefail
# -R -D: repeatable noise, no dither, so the files come out byte-identical.
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# speech <name> <rate> <voice> <lead s> <trail s> <noise bed: 0 or sox vol> <text>
speech() {
  local name=$1 rate=$2 voice=$3 lead=$4 trail=$5 bed=$6 text=$7
  espeak-ng -v "$voice" -s 150 -w "$tmp/tts.wav" "$text"
  sox -R -D "$tmp/tts.wav" -r "$rate" -c 1 -b 16 "$tmp/voice.wav" silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse
  local dur
  dur=$(soxi -D "$tmp/voice.wav")
  sox -R -D -n -r "$rate" -c 1 -b 16 "$tmp/lead.wav" trim 0 "$lead"
  sox -R -D -n -r "$rate" -c 1 -b 16 "$tmp/trail.wav" trim 0 "$trail"
  sox -R -D "$tmp/lead.wav" "$tmp/voice.wav" "$tmp/trail.wav" "$tmp/dry.wav"
  if [ "$bed" != 0 ]; then
    # A quiet line-noise bed keeps the model running through the pauses (above the silence gate).
    sox -R -D -n -r "$rate" -c 1 -b 16 "$tmp/bed.wav" synth "$(soxi -D "$tmp/dry.wav")" pinknoise vol "$bed"
    sox -R -D -m -v 1 "$tmp/dry.wav" -v 1 "$tmp/bed.wav" -e mu-law -b 8 "$name"
  else
    sox -R -D "$tmp/dry.wav" -e mu-law -b 8 "$name"
  fi
  labels+=("\"$name\": { \"start_ms\": $(awk "BEGIN{print int($lead*1000)}"), \"end_ms\": $(awk "BEGIN{print int(($lead+$dur)*1000)}") }")
}

labels=()
speech speech-8k.wav 8000 en-us 1.0 1.6 0.01 "Hello, I would like to check the balance of my account."
speech speech-16k.wav 16000 en+f3 0.8 1.6 0 "Can you tell me when my order will arrive?"
# Loud pink noise (about -25 dBFS): speech to an energy gate, not to a speech model.
sox -R -D -n -r 8000 -c 1 -e mu-law -b 8 noise-8k.wav synth 3 pinknoise vol 0.15

{
  echo "{"
  for i in "${!labels[@]}"; do
    sep=,; [ "$i" -eq $((${#labels[@]} - 1)) ] && sep=
    echo "  ${labels[$i]}$sep"
  done
  echo "}"
} > labels.json
cat labels.json
