import { sign, verify, type KeyObject } from 'node:crypto';
import { ED25519_SIGNATURE_SIZE, importEd25519PublicKey, importEd25519Seed } from './ed25519.ts';


/** Signs messages with one Ed25519 key (RFC 8032); see {@link ed25519Signer}. */
export type Ed25519Signer = (message: Uint8Array) => Uint8Array;

/**
 * A signer that imports the 32-byte seed once and keeps the key as an opaque handle, for keys
 * that sign many messages (a license server's grants, an enclave's usage reports): importing a
 * seed derives its public key, which costs far more than a signature.
 *
 * @example
 * ```ts
 * const signGrant = ed25519Signer(seed);
 * const sig = signGrant(message); // 64 bytes, same as ed25519Sign(seed, message)
 * ```
 */
export function ed25519Signer(seed: Uint8Array): Ed25519Signer {
  const key = importEd25519Seed(seed);
  return (message) => new Uint8Array(sign(null, message, key));
}

/**
 * A verifier for one Ed25519 public key, imported once; false (never throws) for a wrong
 * signature or a signature of the wrong size.
 */
export function ed25519Verifier(publicKey: Uint8Array): (message: Uint8Array, signature: Uint8Array) => boolean {
  let key: KeyObject;
  try {
    key = importEd25519PublicKey(publicKey);
  } catch {
    return () => false;
  }
  return (message, signature) => {
    if (signature.byteLength !== ED25519_SIGNATURE_SIZE) return false;
    try { return verify(null, message, key, signature); } catch { return false; }
  };
}
