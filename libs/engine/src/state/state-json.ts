import type { ConversationState } from './conversation-state';

/**
 * The state as JSON, refusing anything JSON would drop or change on the way (functions, symbols, BigInt,
 * NaN/Infinity, undefined in arrays, Dates, Maps, class instances, toJSON): a state that does not survive
 * a round trip must fail where it is written, not on another replica. Throws TypeError (cycles too).
 * Undefined object properties are dropped, as optional fields are.
 */
export function serialiseState(state: ConversationState): string {
  const { connectorState, ...own } = state;
  // The engine's own fields are plain data by their types; only the connector's blob can hold anything. Checked
  // strictly on its own, so a turn's save costs a plain stringify when a connector keeps no state.
  const plain = JSON.stringify(own);
  if (connectorState === undefined) return plain;
  return `${plain.slice(0, -1)},"connectorState":${strictStringify(state.id, connectorState)}}`;
}

function strictStringify(id: string, blob: unknown): string {
  return JSON.stringify({ connectorState: blob }, function (this: unknown, key: string, value: unknown) {
    // `this` is the holder: its property is the value before any toJSON ran.
    const raw = (this as Record<string, unknown>)[key];
    const reject = (what: string) => {
      throw new TypeError(`Conversation state ${id}: ${key || '(root)'} is ${what}, not JSON`);
    };
    switch (typeof raw) {
      case 'function': case 'symbol': case 'bigint': return reject(`a ${typeof raw}`);
      case 'number': return Number.isFinite(raw) ? raw : reject(String(raw));
      case 'undefined': return Array.isArray(this) ? reject('undefined in an array') : undefined;
      case 'object':
        if (raw === null || Array.isArray(raw)) return value;
        if (value !== raw) return reject('an object with toJSON');
        if (!isPlainObject(raw)) return reject(`a ${raw.constructor?.name ?? 'non-plain object'}`);
        return value;
      default: return value;
    }
  }).slice('{"connectorState":'.length, -1);
}

export function parseState(json: string): ConversationState {
  return JSON.parse(json) as ConversationState;
}

function isPlainObject(o: object): boolean {
  // Prototype null or Object.prototype (of any realm: jest runs tests in a vm context).
  const proto = Object.getPrototypeOf(o) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
}
