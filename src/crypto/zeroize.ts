import { timingSafeEqual } from './hash.ts';

/**
 * Overwrites each buffer with zeros, in place. Call it on plaintext keys, decrypted tail
 * bytes and other secrets once they are no longer needed, so they do not linger in memory
 * (and in core dumps) until the garbage collector runs. `undefined` entries are skipped.
 *
 * JavaScript cannot promise that no copy exists elsewhere (the engine may have moved or
 * copied the bytes); this clears the copies we own.
 *
 * @example
 * ```ts
 * const key = unwrapWithX25519(priv, wrapped, transcript);
 * try { use(key); } finally { zeroize(key); }
 * ```
 */
export function zeroize(...buffers: (Uint8Array | undefined)[]): void {
  for (const b of buffers) b?.fill(0);
}

const ZERO_BLOCK = new Uint8Array(64 * 1024);

/**
 * True when every byte of `bytes` is zero. Compared natively against a block of zeros, 64 KiB at
 * a time: a byte loop in JavaScript runs interpreted on its first call — 10+ ns a byte, 20 ms
 * for the megabytes of a sealed tail's padding, checked once per LOAD.
 *
 * @example
 * ```ts
 * if (!isAllZero(padded.subarray(end))) throw …; // padding must be zero
 * ```
 */
export function isAllZero(bytes: Uint8Array): boolean {
  for (let at = 0; at < bytes.byteLength; at += ZERO_BLOCK.byteLength) {
    const part = bytes.subarray(at, at + ZERO_BLOCK.byteLength);
    if (!timingSafeEqual(part, ZERO_BLOCK.subarray(0, part.byteLength))) return false;
  }
  return true;
}
