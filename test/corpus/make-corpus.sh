#!/usr/bin/env bash
# Regenerates the endpointing corpus (WAV files + labels.json) in this directory.
#
# Needs espeak-ng and sox (Debian: apt-get install espeak-ng sox). The output is committed, so tests and the
# bench never need these tools; rerun only to change the corpus, then commit the result.
# Deterministic for a given espeak-ng/sox build: fixed voices and speed, sox -R (fixed noise seed), -D (no dither).
#
# Labels come from the clean TTS signal: each clip is trimmed where it crosses TRIM_THRESHOLD (sox silence:
# 0.3% of full scale, about -50 dBFS, over its 20 ms RMS window), then placed at a known sample offset in
# silence, so the speech span in the final file is exact in samples. Noise is mixed in afterwards and does
# not move the labels.
set -euo pipefail

cd "$(dirname "$0")"
OUT=$PWD
for tool in espeak-ng sox soxi awk; do
  command -v "$tool" >/dev/null || { echo "make-corpus: $tool is required" >&2; exit 1; }
done

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

SOX=(sox -R -D -V1)
SPEED=155            # espeak-ng words per minute
SPEECH_PEAK_DB=-6    # speech normalised to this peak: about -25 dBFS RMS, a normal telephone level
TRIM_THRESHOLD=0.3%  # of full scale, about -50 dBFS: where a TTS clip's speech begins and ends
TAIL_MS=1800         # after the speech: end_silence 1000 ms + the 400 ms end tolerance + margin

LABELS=()

ms_to_samples() { awk -v ms="$1" -v r="$2" 'BEGIN { printf "%d", ms * r / 1000 }'; }
samples_to_ms() { awk -v n="$1" -v r="$2" 'BEGIN { printf "%.3f", n * 1000 / r }'; }
samples() { soxi -s "$1"; }

# silence OUT RATE SAMPLES
silence() { "${SOX[@]}" -r "$2" -c 1 -n -b 16 "$1" trim 0 "${3}s"; }

# tts OUT RATE VOICE TEXT: one phrase, 16-bit mono at RATE, trimmed to its speech.
tts() {
  local raw="$TMP/raw.wav"
  espeak-ng -v "$3" -s "$SPEED" -w "$raw" "$4"
  "${SOX[@]}" "$raw" -r "$2" -b 16 -c 1 "$1" gain -n "$SPEECH_PEAK_DB" \
    silence 1 1s "$TRIM_THRESHOLD" reverse silence 1 1s "$TRIM_THRESHOLD" reverse
}

rms_db() { "${SOX[@]}" "$1" -n stats 2>&1 | awk '/^RMS lev dB/ { print $4 }'; }

# set_rms IN OUT DBFS: scales IN so its RMS is DBFS.
set_rms() {
  local now
  now=$(rms_db "$1")
  "${SOX[@]}" "$1" "$2" gain "$(awk -v t="$3" -v n="$now" 'BEGIN { printf "%.3f", t - n }')"
}

# noise OUT RATE SAMPLES COLOR DBFS HUM_DBFS: COLOR noise at DBFS RMS, plus 50 Hz mains hum with its
# third harmonic at HUM_DBFS RMS (skipped when HUM_DBFS is "none").
noise() {
  local out=$1 rate=$2 n=$3 color=$4 db=$5 hum=$6
  "${SOX[@]}" -r "$rate" -c 1 -n -b 16 "$TMP/n0.wav" synth "${n}s" "$color"
  set_rms "$TMP/n0.wav" "$TMP/n1.wav" "$db"
  if [[ $hum == none ]]; then
    cp "$TMP/n1.wav" "$out"
    return
  fi
  "${SOX[@]}" -r "$rate" -c 1 -n -b 16 "$TMP/h50.wav" synth "${n}s" sine 50
  "${SOX[@]}" -r "$rate" -c 1 -n -b 16 "$TMP/h150.wav" synth "${n}s" sine 150 vol 0.3
  "${SOX[@]}" -m -v 1 "$TMP/h50.wav" -v 1 "$TMP/h150.wav" "$TMP/h0.wav"
  set_rms "$TMP/h0.wav" "$TMP/h1.wav" "$hum"
  "${SOX[@]}" -m -v 1 "$TMP/n1.wav" -v 1 "$TMP/h1.wav" "$out"
}

# encode IN NAME ENCODING: writes the corpus file in its caller encoding.
encode() {
  local args
  case $3 in
    mulaw) args=(-e u-law -b 8) ;;
    alaw) args=(-e a-law -b 8) ;;
    linear16) args=(-e signed-integer -b 16) ;;
    *) echo "unknown encoding $3" >&2; exit 1 ;;
  esac
  "${SOX[@]}" "$1" "${args[@]}" "$OUT/$2"
}

json_str() { printf '"%s"' "${1//\"/\\\"}"; }
span() { printf '{ "start_sample": %d, "end_sample": %d, "start_ms": %s, "end_ms": %s }' "$1" "$2" "$(samples_to_ms "$1" "$3")" "$(samples_to_ms "$2" "$3")"; }

# label NAME KIND ENCODING RATE TOTAL SPEECH_JSON PAUSES_JSON NOISE_JSON TEXT VOICE
label() {
  LABELS+=("$(printf '    { "file": %s, "kind": %s, "encoding": %s, "sample_rate": %d, "samples": %d, "duration_ms": %s,\n      "speech": %s,\n      "pauses": %s,\n      "noise": %s, "voice": %s, "text": %s }' \
    "$(json_str "$1")" "$(json_str "$2")" "$(json_str "$3")" "$4" "$5" "$(samples_to_ms "$5" "$4")" "$6" "$7" "$8" "${10}" "$9")")
}

noise_json() {
  [[ $1 == none ]] && { printf 'null'; return; }
  local hum=$3
  [[ $hum == none ]] && hum=null
  printf '{ "color": "%s", "rms_dbfs": %s, "hum_dbfs": %s }' "$1" "$2" "$hum"
}

# utterance NAME ENCODING RATE LEAD_MS VOICE NOISE NOISE_DB HUM_DB PHRASE [GAP_MS PHRASE]...
# Phrases joined by GAP_MS of silence form one utterance (a caller pausing mid-sentence).
utterance() {
  local name=$1 enc=$2 rate=$3 lead_ms=$4 voice=$5 color=$6 ndb=$7 hum=$8
  shift 8
  local lead tail parts=() pauses=() text="" pos i=0
  lead=$(ms_to_samples "$lead_ms" "$rate")
  tail=$(ms_to_samples "$TAIL_MS" "$rate")
  silence "$TMP/lead.wav" "$rate" "$lead"
  parts+=("$TMP/lead.wav")
  pos=$lead
  while (($#)); do
    if ((i > 0)); then
      local gap
      gap=$(ms_to_samples "$1" "$rate")
      silence "$TMP/gap$i.wav" "$rate" "$gap"
      parts+=("$TMP/gap$i.wav")
      pauses+=("$(span "$pos" $((pos + gap)) "$rate")")
      pos=$((pos + gap))
      shift
    fi
    tts "$TMP/p$i.wav" "$rate" "$voice" "$1"
    parts+=("$TMP/p$i.wav")
    text+="${text:+ ... }$1"
    pos=$((pos + $(samples "$TMP/p$i.wav")))
    shift
    i=$((i + 1))
  done
  silence "$TMP/tail.wav" "$rate" "$tail"
  parts+=("$TMP/tail.wav")
  "${SOX[@]}" "${parts[@]}" "$TMP/speech.wav"
  local total
  total=$(samples "$TMP/speech.wav")
  local kind=speech
  if [[ $color != none ]]; then
    noise "$TMP/noise.wav" "$rate" "$total" "$color" "$ndb" "$hum"
    "${SOX[@]}" -m -v 1 "$TMP/speech.wav" -v 1 "$TMP/noise.wav" "$TMP/mix.wav"
    mv "$TMP/mix.wav" "$TMP/speech.wav"
    kind=speech+noise
  fi
  ((${#pauses[@]})) && [[ $kind == speech ]] && kind=pause
  local pj="[]"
  if ((${#pauses[@]})); then pj="[$(IFS=,; echo "${pauses[*]}")]"; fi
  encode "$TMP/speech.wav" "$name" "$enc"
  label "$name" "$kind" "$enc" "$rate" "$total" "$(span "$lead" "$pos" "$rate")" "$pj" "$(noise_json "$color" "$ndb" "$hum")" "$(json_str "$text")" "$(json_str "$voice")"
}

# no_speech NAME ENCODING RATE MS NOISE NOISE_DB HUM_DB: digital silence or line noise only.
no_speech() {
  local name=$1 enc=$2 rate=$3 ms=$4 color=$5 ndb=$6 hum=$7 n kind=silence
  n=$(ms_to_samples "$ms" "$rate")
  if [[ $color == none ]]; then
    silence "$TMP/x.wav" "$rate" "$n"
  else
    noise "$TMP/x.wav" "$rate" "$n" "$color" "$ndb" "$hum"
    kind=noise
  fi
  encode "$TMP/x.wav" "$name" "$enc"
  label "$name" "$kind" "$enc" "$rate" "$n" null "[]" "$(noise_json "$color" "$ndb" "$hum")" '""' null
}

rm -f "$OUT"/*.wav

# Clean sentences, every encoding at both rates.
utterance s01-balance-8k-mulaw.wav     mulaw    8000  700 en-us    none 0 none "I would like to check my account balance please"
utterance s02-order-8k-alaw.wav        alaw     8000  900 en-gb    none 0 none "My order number is four seven two nine"
utterance s03-agent-16k-linear16.wav   linear16 16000 600 en-us+f3 none 0 none "Can you transfer me to an agent"
utterance s04-address-8k-linear16.wav  linear16 8000  800 en-gb+f2 none 0 none "I need to change my delivery address"
utterance s05-correct-16k-mulaw.wav    mulaw    16000 500 en-us+f2 none 0 none "Yes that is correct"
utterance s06-refund-16k-alaw.wav      alaw     16000 1000 en-us   none 0 none "I am calling about a refund"

# A pause inside the sentence (300-600 ms): must not end the utterance with end_silence 1000 ms.
utterance p01-pause300-8k-mulaw.wav    mulaw    8000  700 en-us    none 0 none "My card number is" 300 "four five six seven"
utterance p02-pause450-16k-linear16.wav linear16 16000 600 en-gb   none 0 none "Hello" 450 "I have a question about my bill"
utterance p03-pause600-8k-alaw.wav     alaw     8000  800 en-us+f3 none 0 none "Well" 600 "I am not really sure about that"

# Nothing but silence or line noise: must never start input.
no_speech z01-silence-8k-mulaw.wav     mulaw    8000  4000 none 0 none
no_speech z02-silence-16k-linear16.wav linear16 16000 4000 none 0 none
no_speech n01-pink45-hum-8k-mulaw.wav  mulaw    8000  4000 pinknoise  -45 -50
no_speech n02-white35-16k-linear16.wav linear16 16000 4000 whitenoise -35 none
no_speech n03-brown30-hum-8k-alaw.wav  alaw     8000  4000 brownnoise -30 -40
no_speech n04-pink35-hum-16k-alaw.wav  alaw     16000 4000 pinknoise  -35 -42

# Speech over line noise.
utterance sn01-pink45-8k-mulaw.wav     mulaw    8000  800 en-us    pinknoise  -45 -50 "Please read me my last three transactions"
utterance sn02-white35-16k-linear16.wav linear16 16000 700 en-us+f3 whitenoise -35 none "Can you transfer me to an agent"
utterance sn03-brown30-pause-8k-alaw.wav alaw   8000  900 en-gb    brownnoise -30 -40 "Yes" 500 "that is the right account"

{
  printf '{\n  "generator": "test/corpus/make-corpus.sh",\n'
  printf '  "tools": { "espeak-ng": %s, "sox": %s },\n' "$(json_str "$(espeak-ng --version | head -1)")" "$(json_str "$(sox --version | head -1 | sed 's/^sox: *//')")"
  printf '  "speech_threshold": %s,\n' "$(json_str "sox silence at $TRIM_THRESHOLD of full scale (20 ms RMS window) on the clean TTS clip")"
  printf '  "files": [\n'
  for i in "${!LABELS[@]}"; do
    printf '%s' "${LABELS[$i]}"
    ((i < ${#LABELS[@]} - 1)) && printf ',\n' || printf '\n'
  done
  printf '  ]\n}\n'
} >"$OUT/labels.json"

echo "make-corpus: ${#LABELS[@]} files, $(du -ch "$OUT"/*.wav | tail -1 | cut -f1) of audio"
