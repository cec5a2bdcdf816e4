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
