/** A response body larger than the reader accepts: `announced` when Content-Length said so up front. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  constructor(
    readonly limit: number,
    readonly announced?: number,
  ) {
    super(announced !== undefined ? `response of ${announced} bytes (limit ${limit})` : `response over ${limit} bytes`);
  }
}

/**
 * A fetch response's body as text, refusing more than `limit` bytes, announced or sent: the rest is not
 * downloaded. Errors other than BodyTooLargeError are the body stream's own (a timeout, a reset).
 */
export async function readLimitedBody(res: Response, limit: number): Promise<string> {
  const announced = Number(res.headers.get('content-length'));
  if (announced > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw new BodyTooLargeError(limit, announced);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLargeError(limit);
    }
    parts.push(value);
  }
  return Buffer.concat(parts).toString('utf8');
}
