import type { AgentDefaults } from '@app/config';
import type { NextInput } from '@app/connector-sdk';
import { DTMFDigits, inputHandlingConfig, VoiceVAInputMode, type VoiceVAResponse } from '@app/proto';

/** What the gateway asks WxCC to collect next, with every field decided. */
export interface ResolvedInput {
  mode: 'voice' | 'dtmf' | 'voice_dtmf';
  dtmf: { length: number; interDigitTimeoutMs: number; terminator: string };
  speech: {
    completeTimeoutMs: number;
    incompleteTimeoutMs: number;
    maxSpeechMs: number;
    noInputTimeoutMs: number;
    /** The gateway endpointer's end silence for this input; unset: the configured one. Never sent to WxCC. */
    endSilenceMs?: number;
  };
  bargeIn: boolean;
  sensitive: boolean;
}

export function defaultInput(d: AgentDefaults): ResolvedInput {
  return {
    mode: d.input_mode,
    dtmf: { length: d.dtmf.length, interDigitTimeoutMs: d.dtmf.inter_digit_timeout_ms, terminator: d.dtmf.terminator },
    speech: {
      completeTimeoutMs: d.speech.complete_timeout_ms,
      incompleteTimeoutMs: d.speech.incomplete_timeout_ms,
      maxSpeechMs: d.speech.max_speech_ms,
      noInputTimeoutMs: d.speech.no_input_timeout_ms,
    },
    bargeIn: d.barge_in,
    sensitive: d.input_sensitive,
  };
}

/** The agent's wishes for one answer over its configured defaults. */
export function resolveInput(base: ResolvedInput, next?: NextInput): ResolvedInput {
  if (!next) return base;
  return {
    mode: next.mode ?? base.mode,
    dtmf: { ...base.dtmf, ...stripUndefined(next.dtmf) },
    speech: { ...base.speech, ...stripUndefined(next.speech) },
    bargeIn: next.bargeIn ?? base.bargeIn,
    sensitive: next.sensitive ?? base.sensitive,
  };
}

function stripUndefined<T extends object>(o: T | undefined): Partial<T> {
  if (!o) return {};
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const DTMF_KEYS: Record<string, DTMFDigits> = {
  '1': DTMFDigits.DTMF_DIGIT_ONE, '2': DTMFDigits.DTMF_DIGIT_TWO, '3': DTMFDigits.DTMF_DIGIT_THREE,
  '4': DTMFDigits.DTMF_DIGIT_FOUR, '5': DTMFDigits.DTMF_DIGIT_FIVE, '6': DTMFDigits.DTMF_DIGIT_SIX,
  '7': DTMFDigits.DTMF_DIGIT_SEVEN, '8': DTMFDigits.DTMF_DIGIT_EIGHT, '9': DTMFDigits.DTMF_DIGIT_NINE,
  '0': DTMFDigits.DTMF_DIGIT_ZERO, A: DTMFDigits.DTMF_DIGIT_A, B: DTMFDigits.DTMF_DIGIT_B,
  C: DTMFDigits.DTMF_DIGIT_C, D: DTMFDigits.DTMF_DIGIT_D, '*': DTMFDigits.DTMF_DIGIT_STAR, '#': DTMFDigits.DTMF_DIGIT_POUND,
};
const DTMF_CHARS: string[] = [];
for (const [ch, code] of Object.entries(DTMF_KEYS)) DTMF_CHARS[code] = ch;

export function dtmfKeyToEnum(key: string): DTMFDigits {
  return DTMF_KEYS[key] ?? DTMFDigits.DTMF_EVENT_UNSPECIFIED;
}

/** DTMF enum values to the keys the caller pressed; undefined for a value outside the enum. */
export function dtmfEventsToDigits(events: readonly number[]): string | undefined {
  let s = '';
  for (const e of events) {
    const ch = DTMF_CHARS[e];
    if (ch === undefined) return undefined;
    s += ch;
  }
  return s;
}

const MODES = { voice: VoiceVAInputMode.INPUT_VOICE, dtmf: VoiceVAInputMode.INPUT_EVENT_DTMF, voice_dtmf: VoiceVAInputMode.INPUT_VOICE_DTMF };

export function inputFields(i: ResolvedInput): Pick<VoiceVAResponse, 'inputMode' | 'inputHandlingConfig' | 'inputSensitive'> {
  return {
    inputMode: MODES[i.mode],
    inputSensitive: i.sensitive,
    inputHandlingConfig: inputHandlingConfig({
      dtmf: { dtmfInputLength: i.dtmf.length, interDigitTimeoutMsec: i.dtmf.interDigitTimeoutMs, termchar: dtmfKeyToEnum(i.dtmf.terminator) },
      speech: {
        completeTimeoutMsec: i.speech.completeTimeoutMs,
        incompleteTimeoutMsec: i.speech.incompleteTimeoutMs,
        maxSpeechTimeoutMsec: i.speech.maxSpeechMs,
        noInputTimeoutMsec: i.speech.noInputTimeoutMs,
      },
    }),
  };
}
