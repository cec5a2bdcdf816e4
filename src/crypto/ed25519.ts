import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { importRawPrivateKey, importRawPublicKey } from './rfc8410.ts';
import { randomBytes } from './random.ts';

/** Size of a raw Ed25519 public key. */
export const ED25519_PUBLIC_KEY_SIZE = 32;
/** Size of an Ed25519 private key as Enclave-NN stores it: the RFC 8032 32-byte seed. */
export const ED25519_SEED_SIZE = 32;
/** Size of an Ed25519 signature. */
export const ED25519_SIGNATURE_SIZE = 64;


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

/** A 32-byte Ed25519 seed as a KeyObject; RangeError for any other size. */
export function importEd25519Seed(seed: Uint8Array): KeyObject {
  if (seed.byteLength !== ED25519_SEED_SIZE) throw new RangeError(`Ed25519 private key must be a ${ED25519_SEED_SIZE}-byte seed, got ${seed.byteLength} bytes`);
  return importRawPrivateKey('ed25519', seed);
}

/** A raw 32-byte Ed25519 public key as a KeyObject; RangeError for any other size. */
export function importEd25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== ED25519_PUBLIC_KEY_SIZE) throw new RangeError(`Ed25519 public key must be ${ED25519_PUBLIC_KEY_SIZE} bytes, got ${raw.byteLength}`);
  return importRawPublicKey('ed25519', raw);
}

/** The raw 32-byte public key of a 32-byte Ed25519 seed. */
export function ed25519PublicKeyOf(privateKey: Uint8Array): Uint8Array {
  const x = createPublicKey(importEd25519Seed(privateKey)).export({ format: 'jwk' }).x;
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
  return new Uint8Array(sign(null, message, importEd25519Seed(privateKey)));
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
    return verify(null, message, importEd25519PublicKey(publicKey), signature);
  } catch {
    return false;
  }
}
