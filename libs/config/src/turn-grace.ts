import type { GatewayConfig } from './gateway-config';

/** The end of a stop's grace kept for ending conversations and closing (a fifth of it, at most this). */
export const SHUTDOWN_MAX_TAIL_MS = 5000;

/** The part of a shutdown grace kept after RPCs in flight are cut (see GatewayShutdown). */
export function shutdownTailMs(graceMs: number): number {
  return Math.min(SHUTDOWN_MAX_TAIL_MS, graceMs / 5);
}

/** The smallest shutdown grace (whole seconds) that leaves RPCs in flight `rpcMs` to finish. */
function shutdownGraceFor(rpcMs: number): number {
  return Math.ceil((rpcMs >= 4 * SHUTDOWN_MAX_TAIL_MS ? rpcMs + SHUTDOWN_MAX_TAIL_MS : (rpcMs * 5) / 4) / 1000);
}

interface LongestTurn {
  ms: number;
  /** e.g. "connectors.local.defaults.speech.max_speech_ms 30000 + connectors.local.timeouts.turn_ms 10000" */
  why: string;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The longest turn an enabled agent allows once its caller starts speaking: its longest utterance
 * (`speech.max_speech_ms`, from the connector's `defaults` or an agent's `agent_defaults`) plus the connector's
 * turn deadline. Agents without a speech limit (0) have no bound to compare, so they are left out; the time
 * before speech starts is not counted either.
 */
export function longestTurn(config: GatewayConfig): LongestTurn | undefined {
  let longest: LongestTurn | undefined;
  for (const [id, entry] of Object.entries(config.connectors ?? {})) {
    if (!entry.enabled) continue;
    const turnMs = entry.timeouts.turn_ms;
    const speech: [string, number][] = [[`connectors.${id}.defaults.speech.max_speech_ms`, entry.defaults.speech.max_speech_ms]];
    // Overrides are validated once the connector names its agents; here only a usable number counts.
    for (const [agent, o] of Object.entries(entry.agent_defaults ?? {})) {
      const ms = isMap(o) && isMap(o.speech) ? o.speech.max_speech_ms : undefined;
      if (typeof ms === 'number' && Number.isInteger(ms) && ms >= 0) speech.push([`connectors.${id}.agent_defaults.${agent}.speech.max_speech_ms`, ms]);
    }
    for (const [key, ms] of speech) {
      if (ms === 0 || (longest && ms + turnMs <= longest.ms)) continue;
      longest = { ms: ms + turnMs, why: `${key} ${ms} + connectors.${id}.timeouts.turn_ms ${turnMs}` };
    }
  }
  return longest;
}

/**
 * Start-up warnings when an aged connection's grace, or a stop's drain, is shorter than the longest turn: a turn
 * still running when either ends is cut and the caller's utterance lost. Not errors: short graces are a choice
 * (e.g. fast rollouts), but one that should be made knowingly.
 */
export function turnGraceWarnings(config: GatewayConfig): string[] {
  const turn = longestTurn(config);
  const g = config.gateway;
  if (!turn || !g) return [];
  const what = `the longest turn (${turn.ms / 1000} s: ${turn.why})`;
  const warnings: string[] = [];
  const ageGraceMs = g.max_connection_age_grace_seconds * 1000;
  if (g.max_connection_age_seconds > 0 && ageGraceMs < turn.ms) {
    warnings.push(
      `gateway.max_connection_age_grace_seconds ${g.max_connection_age_grace_seconds} is shorter than ${what}: ` +
        `a turn still running when an aged connection's grace ends is cut; set it to at least ${Math.ceil(turn.ms / 1000)}`,
    );
  }
  const graceMs = g.shutdown_grace_seconds * 1000;
  const rpcMs = graceMs - shutdownTailMs(graceMs);
  if (rpcMs < turn.ms) {
    warnings.push(
      `gateway.shutdown_grace_seconds ${g.shutdown_grace_seconds} leaves calls in progress ${rpcMs / 1000} s to finish ` +
        `(the rest of the grace ends conversations), shorter than ${what}: a turn still running when a stop's drain ends is cut; ` +
        `set it to at least ${shutdownGraceFor(turn.ms)}`,
    );
  }
  return warnings;
}
