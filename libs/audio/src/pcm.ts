import { AudioEncoding } from './format';
import { ALAW_DECODE, ALAW_ENCODE, MULAW_DECODE, MULAW_ENCODE } from './g711';

// Per-frame hot path. With a big enough `dst` nothing is allocated: an exactly sized
// dst is returned as is, a larger one as a subarray view.

function unknownEncoding(encoding: never): never {
  throw new RangeError(`unknown audio encoding ${JSON.stringify(encoding)}`);
}

/** linear16 input is little-endian; an odd trailing byte is ignored. */
export function decodeToPcm16(src: Uint8Array, encoding: AudioEncoding, dst?: Int16Array): Int16Array {
  const n = encoding === 'linear16' ? src.length >> 1 : src.length;
  const out = dst === undefined || dst.length < n ? new Int16Array(n) : dst.length === n ? dst : dst.subarray(0, n);
  switch (encoding) {
    case 'mulaw':
      for (let i = 0; i < n; i++) out[i] = MULAW_DECODE[src[i]];
      break;
    case 'alaw':
      for (let i = 0; i < n; i++) out[i] = ALAW_DECODE[src[i]];
      break;
    case 'linear16':
      // Byte-wise so any byteOffset and host endianness work.
      for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = src[j] | (src[j + 1] << 8);
      break;
    default:
      unknownEncoding(encoding);
  }
  return out;
}

/** linear16 output is little-endian. */
export function encodeFromPcm16(src: Int16Array, encoding: AudioEncoding, dst?: Uint8Array): Uint8Array {
  const n = encoding === 'linear16' ? src.length * 2 : src.length;
  const out = dst === undefined || dst.length < n ? new Uint8Array(n) : dst.length === n ? dst : dst.subarray(0, n);
  switch (encoding) {
    case 'mulaw':
      for (let i = 0; i < n; i++) out[i] = MULAW_ENCODE[src[i] & 0xffff];
      break;
    case 'alaw':
      for (let i = 0; i < n; i++) out[i] = ALAW_ENCODE[src[i] & 0xffff];
      break;
    case 'linear16':
      for (let i = 0, j = 0; j < n; i++, j += 2) {
        const s = src[i];
        out[j] = s;
        out[j + 1] = s >> 8;
      }
      break;
    default:
      unknownEncoding(encoding);
  }
  return out;
}
