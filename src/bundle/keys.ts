import { hkdfSha256, LABEL_KEY_COMMITMENT, LABEL_TAIL_CHUNK } from '../crypto/index.ts';

const EMPTY = new Uint8Array(0);

/**
 * The AES-256-GCM key of the sealed tail chunks (docs/bundle-format.md §5.2). Derived, not K
 * itself: key separation from the key commitment. Zeroize it after use.
 */
export function tailChunkKey(modelKey: Uint8Array): Uint8Array {
  checkModelKey(modelKey);
  // Salt empty: K is a fresh uniformly random 32-byte key, so HKDF-Extract needs no salt.
  return hkdfSha256(modelKey, EMPTY, LABEL_TAIL_CHUNK, 32);
}

/** The public key commitment of a model key (§5.2): a wrong key is told apart from tampering. */
export function keyCommitment(modelKey: Uint8Array): Uint8Array {
  checkModelKey(modelKey);
  return hkdfSha256(modelKey, EMPTY, LABEL_KEY_COMMITMENT, 32);
}

function checkModelKey(k: Uint8Array): void {
  if (!(k instanceof Uint8Array) || k.byteLength !== 32) throw new RangeError('model key must be 32 bytes');
}
