import { randomBytes as nodeRandomBytes } from 'node:crypto';

/**
 * `n` bytes from the operating system's CSPRNG (node:crypto `randomBytes`).
 * Every key, nonce prefix and seed in Enclave-NN comes from here.
 *
 * @example
 * ```ts
 * const modelKey = randomBytes(32);
 * ```
 */
export function randomBytes(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`randomBytes: n must be a non-negative integer, got ${n}`);
  const b = nodeRandomBytes(n);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
