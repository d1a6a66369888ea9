import { encodeFromPcm16, MULAW_8K } from '@app/audio';
import { OutputEvent_EventType } from '@app/proto';
import { type ByovaCaller, type TurnResult, voiceInput } from '@app/simulator';
import { speechBurst } from '../e2e/harness';

export interface SpeechTurn {
  /** Resolves when the gateway answers START_OF_INPUT: from then on the RPC is certainly in flight. */
  readonly startOfInput: Promise<void>;
  readonly result: Promise<TurnResult>;
}

/**
 * One caller-audio RPC, paced like WxCC (20 ms mu-law frames): `speechMs` of speech, then silence until
 * END_OF_INPUT (at most `silenceMs`), then half-close. Unlike ByovaCaller.sendAudio it exposes
 * START_OF_INPUT, so a test can act while the caller is mid-speech.
 */
export function speechTurn(caller: ByovaCaller, speechMs: number, silenceMs = 3000): SpeechTurn {
  const audio = encodeFromPcm16(speechBurst(speechMs, silenceMs), 'mulaw');
  const turn = caller.openTurn('audio');
  let endOfInput = false;
  const startOfInput = new Promise<void>((resolve, reject) => {
    turn.onResponse((r) => {
      if (r.outputEvents.some((e) => e.eventType === OutputEvent_EventType.START_OF_INPUT)) resolve();
      if (r.outputEvents.some((e) => e.eventType === OutputEvent_EventType.END_OF_INPUT)) endOfInput = true;
    });
    void turn.result.then((res) => reject(new Error(`RPC ended before START_OF_INPUT: ${res.status.code} ${res.status.details}`)));
  });
  startOfInput.catch(() => undefined); // reported to whoever awaits it
  void (async () => {
    const start = Date.now();
    for (let i = 0; i * 160 < audio.length; i++) {
      const wait = start + i * 20 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (turn.ended || endOfInput) break;
      const frame = audio.subarray(i * 160, (i + 1) * 160);
      // Format declared on the first frame only, as WxCC does.
      turn.write(caller.request({ audioInput: voiceInput(frame, i === 0 ? MULAW_8K : undefined) }));
    }
    turn.halfClose();
  })();
  return { startOfInput, result: turn.result };
}
