import { createHash, timingSafeEqual as nodeTimingSafeEqual } from 'node:crypto';

/**
 * SHA-256 of `data`.
 *
 * @example
 * ```ts
 * const headHash = sha256(headBytes); // 32 bytes
 * ```
 */
export function sha256(data: Uint8Array): Uint8Array {
  return toU8(createHash('sha256').update(data).digest());
}

/**
 * SHA-512 of `data` (the REPORTDATA binding of attestation: SHA-512(pub ‖ nonce)).
 *
 * @example
 * ```ts
 * const reportData = sha512(concatBytes(enclavePub, nonce)); // 64 bytes
 * ```
 */
export function sha512(data: Uint8Array): Uint8Array {
  return toU8(createHash('sha512').update(data).digest());
}

/**
 * Compares two byte strings in time independent of their contents (not of their lengths).
 * Unequal lengths return false instead of throwing. Use it for every comparison of a secret
 * or a MAC-like value (key commitments, measurements of sealed state).
 *
 * @example
 * ```ts
 * if (!timingSafeEqual(expected, got)) throw new Error('mismatch');
 * ```
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return nodeTimingSafeEqual(a, b);
}

/**
 * Concatenates byte strings into one new Uint8Array.
 *
 * @example
 * ```ts
 * concatBytes(new Uint8Array([1]), new Uint8Array([2, 3])); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.byteLength; }
  return out;
}

/** A Buffer viewed as a plain Uint8Array (same memory). */
export function toU8(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
