import type { ConversationState } from './conversation-state';

/**
 * The state as JSON, refusing anything JSON would drop or change on the way (functions, symbols, BigInt,
 * NaN/Infinity, undefined in arrays, Dates, Maps, class instances, toJSON): a state that does not survive
 * a round trip must fail where it is written, not on another replica. Throws TypeError (cycles too).
 * Undefined object properties are dropped, as optional fields are.
 */
export function serialiseState(state: ConversationState): string {
  return JSON.stringify(state, function (this: unknown, key: string, value: unknown) {
    // `this` is the holder: its property is the value before any toJSON ran.
    const raw = (this as Record<string, unknown>)[key];
    const reject = (what: string) => {
      throw new TypeError(`Conversation state ${state.id}: ${key || '(root)'} is ${what}, not JSON`);
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
  });
}

export function parseState(json: string): ConversationState {
  return JSON.parse(json) as ConversationState;
}

function isPlainObject(o: object): boolean {
  // Prototype null or Object.prototype (of any realm: jest runs tests in a vm context).
  const proto = Object.getPrototypeOf(o) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
}
