/** Why the engine refused or ended an RPC; each transport maps these to its own status codes. */
export type EngineErrorCode =
  | 'invalid_argument'
  | 'not_found'
  | 'resource_exhausted'
  | 'unavailable'
  | 'failed_precondition'
  | 'deadline_exceeded'
  | 'internal';

/** A failure reported to the caller; `message` is safe to show (no internals). */
export class EngineError extends Error {
  override name = 'EngineError';
  constructor(readonly code: EngineErrorCode, message: string) {
    super(message);
  }
  static invalidArgument(m: string) { return new EngineError('invalid_argument', m); }
  static notFound(m: string) { return new EngineError('not_found', m); }
  static exhausted(m: string) { return new EngineError('resource_exhausted', m); }
  static unavailable(m: string) { return new EngineError('unavailable', m); }
  static failedPrecondition(m: string) { return new EngineError('failed_precondition', m); }
  static deadlineExceeded(m: string) { return new EngineError('deadline_exceeded', m); }
  static internal(m = 'internal error') { return new EngineError('internal', m); }
}
