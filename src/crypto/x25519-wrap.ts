import { createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import { EnclaveNnError } from '../errors.ts';
import { aeadOpen, aeadSeal, AEAD_NONCE_SIZE, AEAD_TAG_SIZE } from './aead-stream.ts';
import { sha256 } from './hash.ts';
import { hkdfSha256, LABEL_KEY_WRAP } from './hkdf.ts';
import { randomBytes } from './random.ts';
import { zeroize } from './zeroize.ts';
import { importRawPrivateKey } from './rfc8410.ts';

/** Size of a raw X25519 public key. */
export const X25519_PUBLIC_KEY_SIZE = 32;
/** Bytes a wrap adds to its plaintext: ephemeral public key (32) + nonce (12) + tag (16). */
export const X25519_WRAP_OVERHEAD = X25519_PUBLIC_KEY_SIZE + AEAD_NONCE_SIZE + AEAD_TAG_SIZE;

/**
 * An X25519 key pair. The private key is an opaque node:crypto `KeyObject`: it cannot be
 * printed or serialised by accident, and it never leaves the process that made it.
 */
export interface X25519KeyPair {
  /** The raw 32-byte public key (RFC 7748 u-coordinate). */
  publicKey: Uint8Array;
  /** The private key handle; pass it to {@link unwrapWithX25519}. */
  privateKey: X25519PrivateKey;
}

/** An opaque X25519 private key handle. */
export type X25519PrivateKey = KeyObject;

/**
 * A fresh X25519 key pair (the enclave's ephemeral key-delivery key).
 *
 * @example
 * ```ts
 * const { publicKey, privateKey } = generateX25519KeyPair();
 * ```
 */
export function generateX25519KeyPair(): X25519KeyPair {
  const privateKey = newX25519PrivateKey();
  return { publicKey: x25519PublicKeyOf(privateKey), privateKey };
}

/**
 * A fresh X25519 private key: 32 bytes from the CSPRNG (RFC 7748 §5: any 32 bytes are a key; the
 * function clamps them). Not generateKeyPairSync: on Node 20 a key it made can deadlock the
 * process for ever when its key-generation job is garbage-collected while the key is being
 * exported (docs/decisions.md 43, scripts/keygen-deadlock.mjs).
 */
function newX25519PrivateKey(): KeyObject {
  const raw = randomBytes(32);
  try {
    return importRawPrivateKey('x25519', raw);
  } finally {
    zeroize(raw);
  }
}

/** The raw 32-byte public key of an X25519 private key handle. */
export function x25519PublicKeyOf(privateKey: X25519PrivateKey): Uint8Array {
  return rawX25519Public(createPublicKey(privateKey));
}

function rawX25519Public(k: KeyObject): Uint8Array {
  const x = k.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new Error('X25519 public key export failed');
  return new Uint8Array(Buffer.from(x, 'base64url'));
}

function importX25519Public(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== X25519_PUBLIC_KEY_SIZE) throw new RangeError(`X25519 public key must be ${X25519_PUBLIC_KEY_SIZE} bytes, got ${raw.byteLength}`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

function sharedSecret(privateKey: KeyObject, peerPublic: Uint8Array): Uint8Array {
  let shared: Uint8Array;
  try {
    shared = new Uint8Array(diffieHellman({ privateKey, publicKey: importX25519Public(peerPublic) }));
  } catch (cause) {
    if (cause instanceof RangeError) throw cause;
    throw new EnclaveNnError('KEY_WRAP', 'Cannot agree on a key: the X25519 public key is invalid', { cause });
  }
  // A low-order peer key yields the all-zero secret (RFC 7748 §6.1): reject it, or an attacker
  // could force a known wrapping key.
  if (shared.every((b) => b === 0)) throw new EnclaveNnError('KEY_WRAP', 'Cannot agree on a key: the X25519 public key has low order');
  return shared;
}

function wrapKey(shared: Uint8Array, transcript: Uint8Array, senderPublic: Uint8Array, recipientPublic: Uint8Array): Uint8Array {
  // salt = SHA-256(transcript) binds the key to this exchange (nonce, evidence…); info binds it
  // to its purpose and to both public keys, so a wrap cannot be replayed to another recipient.
  return hkdfSha256(shared, sha256(transcript), [LABEL_KEY_WRAP, senderPublic, recipientPublic], 32);
}

/**
 * Encrypts `plaintext` (e.g. a model key) to the holder of an X25519 private key, bound to a
 * `transcript` (e.g. the attestation nonce, evidence and license request): ECDH with a fresh
 * ephemeral sender key, HKDF-SHA256(shared, salt = SHA-256(transcript),
 * info = LABEL_KEY_WRAP ‖ sender public ‖ recipient public), AES-256-GCM with AAD = transcript.
 *
 * Output: ephemeral public key (32) ‖ nonce (12) ‖ ciphertext ‖ tag (16).
 *
 * @example
 * ```ts
 * const wrapped = wrapToX25519(enclavePublicKey, modelKey, transcript);
 * ```
 */
export function wrapToX25519(recipientPublic: Uint8Array, plaintext: Uint8Array, transcript: Uint8Array): Uint8Array {
  // A fresh ephemeral key per wrap: the wrapping key is single-use and the sender keeps no secret.
  const eph = newX25519PrivateKey();
  const ephPublic = x25519PublicKeyOf(eph);
  const shared = sharedSecret(eph, recipientPublic);
  const key = wrapKey(shared, transcript, ephPublic, recipientPublic);
  // The key is single-use, so any nonce is safe; a random one costs nothing and guards against
  // a broken ephemeral-key source.
  const nonce = randomBytes(AEAD_NONCE_SIZE);
  try {
    const sealed = aeadSeal(key, nonce, plaintext, transcript);
    const out = new Uint8Array(X25519_WRAP_OVERHEAD - AEAD_TAG_SIZE + sealed.byteLength);
    out.set(ephPublic, 0);
    out.set(nonce, X25519_PUBLIC_KEY_SIZE);
    out.set(sealed, X25519_PUBLIC_KEY_SIZE + AEAD_NONCE_SIZE);
    return out;
  } finally {
    shared.fill(0);
    key.fill(0);
  }
}

/**
 * Decrypts the output of {@link wrapToX25519} with the recipient's private key and the same
 * transcript. Throws `EnclaveNnError('KEY_WRAP')` if it does not authenticate (wrong key,
 * different transcript, modified bytes).
 *
 * @example
 * ```ts
 * const modelKey = unwrapWithX25519(privateKey, wrapped, transcript);
 * ```
 */
export function unwrapWithX25519(privateKey: X25519PrivateKey, wrapped: Uint8Array, transcript: Uint8Array): Uint8Array {
  if (wrapped.byteLength < X25519_WRAP_OVERHEAD) {
    throw new EnclaveNnError('KEY_WRAP', `Cannot unwrap key: ${wrapped.byteLength} bytes is shorter than the ${X25519_WRAP_OVERHEAD}-byte minimum`);
  }
  const ephPublic = wrapped.subarray(0, X25519_PUBLIC_KEY_SIZE);
  const nonce = wrapped.subarray(X25519_PUBLIC_KEY_SIZE, X25519_PUBLIC_KEY_SIZE + AEAD_NONCE_SIZE);
  const shared = sharedSecret(privateKey, ephPublic);
  const key = wrapKey(shared, transcript, ephPublic, x25519PublicKeyOf(privateKey));
  try {
    return aeadOpen(key, nonce, wrapped.subarray(X25519_PUBLIC_KEY_SIZE + AEAD_NONCE_SIZE), transcript);
  } catch (cause) {
    throw new EnclaveNnError('KEY_WRAP', 'Cannot unwrap key: it does not authenticate (another recipient, another transcript, or modified bytes)', { cause });
  } finally {
    shared.fill(0);
    key.fill(0);
  }
}

