import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { randomBytes } from './random.ts';

/** Size of a raw Ed25519 public key. */
export const ED25519_PUBLIC_KEY_SIZE = 32;
/** Size of an Ed25519 private key as Enclave-NN stores it: the RFC 8032 32-byte seed. */
export const ED25519_SEED_SIZE = 32;
/** Size of an Ed25519 signature. */
export const ED25519_SIGNATURE_SIZE = 64;

// Fixed DER prefixes that turn raw RFC 8032 keys into the PKCS8 / SPKI structures node:crypto
// imports (RFC 8410): OID 1.3.101.112 (id-Ed25519).
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

/**
 * An Ed25519 key pair as raw bytes. `privateKey` is the 32-byte RFC 8032 seed (not PKCS8):
 * the compact form stored in provider key files. It is a secret; {@link zeroize} it after use.
 */
export interface Ed25519KeyPair {
  /** The raw 32-byte public key. */
  publicKey: Uint8Array;
  /** The raw 32-byte seed (secret). */
  privateKey: Uint8Array;
}

/**
 * A fresh Ed25519 key pair (a provider's bundle-signing key, a license server's key…).
 *
 * @example
 * ```ts
 * const { publicKey, privateKey } = generateEd25519KeyPair();
 * const sig = ed25519Sign(privateKey, msg);
 * ```
 */
export function generateEd25519KeyPair(): Ed25519KeyPair {
  // The seed comes straight from the CSPRNG; RFC 8032 derives the scalar from it by hashing.
  const privateKey = randomBytes(ED25519_SEED_SIZE);
  return { publicKey: ed25519PublicKeyOf(privateKey), privateKey };
}

function importSeed(seed: Uint8Array): KeyObject {
  if (seed.byteLength !== ED25519_SEED_SIZE) throw new RangeError(`Ed25519 private key must be a ${ED25519_SEED_SIZE}-byte seed, got ${seed.byteLength} bytes`);
  const der = new Uint8Array(PKCS8_PREFIX.byteLength + ED25519_SEED_SIZE);
  der.set(PKCS8_PREFIX, 0);
  der.set(seed, PKCS8_PREFIX.byteLength);
  try {
    return createPrivateKey({ key: Buffer.from(der.buffer), format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

function importPublic(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== ED25519_PUBLIC_KEY_SIZE) throw new RangeError(`Ed25519 public key must be ${ED25519_PUBLIC_KEY_SIZE} bytes, got ${raw.byteLength}`);
  const der = new Uint8Array(SPKI_PREFIX.byteLength + ED25519_PUBLIC_KEY_SIZE);
  der.set(SPKI_PREFIX, 0);
  der.set(raw, SPKI_PREFIX.byteLength);
  return createPublicKey({ key: Buffer.from(der.buffer), format: 'der', type: 'spki' });
}

/** The raw 32-byte public key of a 32-byte Ed25519 seed. */
export function ed25519PublicKeyOf(privateKey: Uint8Array): Uint8Array {
  const x = createPublicKey(importSeed(privateKey)).export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new Error('Ed25519 public key export failed');
  return new Uint8Array(Buffer.from(x, 'base64url'));
}

/**
 * Signs `message` with a 32-byte Ed25519 seed (pure Ed25519, RFC 8032; deterministic).
 * Callers prefix the message with a domain-separation label so that a signature made for one
 * purpose cannot be replayed as another.
 *
 * @example
 * ```ts
 * const sig = ed25519Sign(seed, concatBytes(utf8(LABEL_BUNDLE_HEADER_SIGNATURE), header)); // 64 bytes
 * ```
 */
export function ed25519Sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, importSeed(privateKey)));
}

/**
 * Verifies an Ed25519 signature; false (never throws) for a wrong signature, a signature of
 * the wrong size, or a malformed public key.
 *
 * @example
 * ```ts
 * if (!ed25519Verify(providerPublicKey, msg, sig)) throw new EnclaveNnError(…);
 * ```
 */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.byteLength !== ED25519_SIGNATURE_SIZE || publicKey.byteLength !== ED25519_PUBLIC_KEY_SIZE) return false;
  try {
    return verify(null, message, importPublic(publicKey), signature);
  } catch {
    return false;
  }
}
