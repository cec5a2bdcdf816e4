/**
 * ECDSA over NIST P-256 with SHA-256: the one signature scheme of Intel SGX DCAP (quote
 * signature, QE report signature, PCK certificates, CRLs, TCB Info and QE Identity).
 *
 * Signatures cross this module's boundary as raw `r ‖ s` (64 bytes, big-endian each), the
 * encoding of `sgx_quote_3.h`; X.509 and CRL signatures are DER and handled in x509.ts.
 * Public keys cross it as raw `X ‖ Y` (64 bytes), the quote's attestation key encoding.
 */
import { createECDH, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** An opaque P-256 private key. Never serialised except by {@link exportP256PrivateKeyPem}. */
export interface P256PrivateKey {
  readonly kind: 'p256-private';
  /** @internal The node:crypto key; only src/crypto/ touches it. */
  readonly key: KeyObject;
}

/** A fresh P-256 key pair: the private key and the raw public key `X ‖ Y` (64 bytes). */
export interface P256KeyPair {
  readonly privateKey: P256PrivateKey;
  readonly publicKey: Uint8Array;
}

/**
 * Generates a P-256 key pair.
 *
 * @example
 * ```ts
 * const { privateKey, publicKey } = generateP256KeyPair(); // publicKey.length === 64
 * ```
 */
export function generateP256KeyPair(): P256KeyPair {
  // Not generateKeyPairSync: on Node 20 a key it made can deadlock the process for ever when its
  // key-generation job is garbage-collected while the key is exported (docs/decisions.md 43).
  // ECDH makes the same kind of key (a random scalar, its point) without such a job.
  const ecdh = createECDH('prime256v1');
  const point = ecdh.generateKeys(); // 0x04 ‖ X ‖ Y, each 32 bytes
  const d = Buffer.alloc(32);
  const scalar = ecdh.getPrivateKey();
  scalar.copy(d, 32 - scalar.byteLength); // big-endian, leading zero bytes dropped
  try {
    const key = createPrivateKey({ key: { kty: 'EC', crv: 'P-256', d: d.toString('base64url'), x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, format: 'jwk' });
    const priv: P256PrivateKey = { kind: 'p256-private', key };
    return { privateKey: priv, publicKey: new Uint8Array(point.subarray(1)) };
  } finally {
    d.fill(0);
    scalar.fill(0);
  }
}

/** The raw public key `X ‖ Y` (64 bytes) of a private key. */
export function p256PublicKeyOf(priv: P256PrivateKey): Uint8Array {
  const jwk = createPublicKey(priv.key).export({ format: 'jwk' });
  return concat(Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url'));
}

const SPKI_P256_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

// Importing a key costs more than verifying with it; chains repeat the same few keys.
const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_COUNT = 64;

/** A node KeyObject for a raw `X ‖ Y` public key; throws RangeError when it is not on the curve. */
function publicKeyFromRaw(xy: Uint8Array): KeyObject {
  if (xy.length !== 64) throw new RangeError(`P-256 public key must be 64 bytes, got ${xy.length}`);
  const id = Buffer.from(xy).toString('hex');
  const hit = keyCache.get(id);
  if (hit) return hit;
  let key: KeyObject;
  try {
    // JWK import is the fastest path in node 20; OpenSSL checks the point is on the curve.
    const b = Buffer.from(xy);
    key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b.subarray(0, 32).toString('base64url'), y: b.subarray(32).toString('base64url') }, format: 'jwk' });
  } catch (e) {
    throw new RangeError('P-256 public key is not a point on the curve', { cause: e });
  }
  if (keyCache.size >= KEY_CACHE_COUNT) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(id, key);
  return key;
}

/** The DER SubjectPublicKeyInfo of a raw `X ‖ Y` P-256 public key (for building certificates). */
export function p256SpkiDer(xy: Uint8Array): Uint8Array {
  publicKeyFromRaw(xy); // validates the point
  return new Uint8Array(Buffer.concat([SPKI_P256_PREFIX, Buffer.from([0x04]), xy]));
}

/**
 * The raw `X ‖ Y` of a DER SubjectPublicKeyInfo; throws RangeError unless it is exactly an
 * uncompressed P-256 point under id-ecPublicKey / prime256v1 (RFC 5480 §2) on the curve.
 */
export function p256RawFromSpki(spki: Uint8Array): Uint8Array {
  if (spki.length !== 91 || !Buffer.from(spki.subarray(0, 26)).equals(SPKI_P256_PREFIX) || spki[26] !== 0x04) {
    throw new RangeError('public key is not an uncompressed ECDSA P-256 key');
  }
  const xy = spki.slice(27);
  publicKeyFromRaw(xy);
  return xy;
}

/** Signs SHA-256(`data`) with ECDSA P-256; returns raw `r ‖ s` (64 bytes). */
export function signP256Sha256(data: Uint8Array, priv: P256PrivateKey): Uint8Array {
  return new Uint8Array(sign('sha256', data, { key: priv.key, dsaEncoding: 'ieee-p1363' }));
}

/** Signs SHA-256(`data`) with ECDSA P-256; returns the DER `Ecdsa-Sig-Value` (X.509 form). */
export function signP256Sha256Der(data: Uint8Array, priv: P256PrivateKey): Uint8Array {
  return new Uint8Array(sign('sha256', data, { key: priv.key, dsaEncoding: 'der' }));
}

/**
 * Verifies a raw `r ‖ s` ECDSA P-256 SHA-256 signature with a raw `X ‖ Y` public key.
 * Returns false (never throws) for a wrong signature, a malformed key or a point off the curve.
 *
 * @example
 * ```ts
 * verifyP256Sha256(signedBytes, quote.signature, quote.attestationKey) // true or false
 * ```
 */
export function verifyP256Sha256(data: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  let key: KeyObject;
  try {
    key = publicKeyFromRaw(publicKey);
  } catch {
    return false;
  }
  return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
}

/** Verifies a DER (Ecdsa-Sig-Value) ECDSA P-256 SHA-256 signature with a raw `X ‖ Y` key; false on any failure. */
export function verifyP256Sha256Der(data: Uint8Array, derSignature: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return verify('sha256', data, { key: publicKeyFromRaw(publicKey), dsaEncoding: 'der' }, derSignature);
  } catch {
    return false;
  }
}

/** PKCS#8 PEM of a private key, for a 0600 file (the insecure sim chain only). */
export function exportP256PrivateKeyPem(priv: P256PrivateKey): string {
  return priv.key.export({ format: 'pem', type: 'pkcs8' }) as string;
}

/** Imports a PKCS#8 PEM P-256 private key; throws RangeError for any other key. */
export function importP256PrivateKeyPem(pem: string): P256PrivateKey {
  const key = createPrivateKey({ key: pem, format: 'pem' });
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new RangeError('private key is not ECDSA P-256');
  }
  return { kind: 'p256-private', key };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
