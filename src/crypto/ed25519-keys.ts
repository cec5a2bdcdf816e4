import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { ED25519_PUBLIC_KEY_SIZE, ED25519_SEED_SIZE, ED25519_SIGNATURE_SIZE } from './ed25519.ts';

// RFC 8410 DER prefixes (id-Ed25519, 1.3.101.112), as in ed25519.ts.
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

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
  if (seed.byteLength !== ED25519_SEED_SIZE) throw new RangeError(`Ed25519 private key must be a ${ED25519_SEED_SIZE}-byte seed, got ${seed.byteLength} bytes`);
  const der = new Uint8Array(PKCS8_PREFIX.byteLength + ED25519_SEED_SIZE);
  der.set(PKCS8_PREFIX, 0);
  der.set(seed, PKCS8_PREFIX.byteLength);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(der.buffer), format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
  return (message) => new Uint8Array(sign(null, message, key));
}

/**
 * A verifier for one Ed25519 public key, imported once; false (never throws) for a wrong
 * signature or a signature of the wrong size.
 */
export function ed25519Verifier(publicKey: Uint8Array): (message: Uint8Array, signature: Uint8Array) => boolean {
  if (publicKey.byteLength !== ED25519_PUBLIC_KEY_SIZE) return () => false;
  const der = new Uint8Array(SPKI_PREFIX.byteLength + ED25519_PUBLIC_KEY_SIZE);
  der.set(SPKI_PREFIX, 0);
  der.set(publicKey, SPKI_PREFIX.byteLength);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(der.buffer), format: 'der', type: 'spki' });
  } catch {
    return () => false;
  }
  return (message, signature) => {
    if (signature.byteLength !== ED25519_SIGNATURE_SIZE) return false;
    try { return verify(null, message, key, signature); } catch { return false; }
  };
}
