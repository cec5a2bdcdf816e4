import { createPrivateKey } from 'node:crypto';
import type { X25519PrivateKey } from './x25519-wrap.ts';

/**
 * The raw 32-byte scalar of an X25519 private key (RFC 7748), for sealing it to a platform key
 * (the air-gapped license request keeps its ephemeral key across processes only this way,
 * docs/license-protocol.md §4.6). A secret: zeroize it after sealing.
 *
 * @example
 * ```ts
 * const raw = x25519PrivateKeyToRaw(keyPair.privateKey);
 * ```
 */
export function x25519PrivateKeyToRaw(key: X25519PrivateKey): Uint8Array {
  const d = key.export({ format: 'jwk' }).d;
  if (typeof d !== 'string') throw new Error('X25519 private key export failed');
  return new Uint8Array(Buffer.from(d, 'base64url'));
}

// PKCS8 DER prefix of an X25519 private key (RFC 8410, OID 1.3.101.110), followed by the 32-byte scalar.
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);

/**
 * An X25519 private key handle from its raw 32-byte scalar (the inverse of
 * {@link x25519PrivateKeyToRaw}); its public key follows from it.
 */
export function x25519PrivateKeyFromRaw(raw: Uint8Array): X25519PrivateKey {
  if (raw.byteLength !== 32) throw new RangeError(`X25519 private key must be 32 bytes, got ${raw.byteLength}`);
  const der = new Uint8Array(PKCS8_PREFIX.byteLength + 32);
  der.set(PKCS8_PREFIX, 0);
  der.set(raw, PKCS8_PREFIX.byteLength);
  try {
    return createPrivateKey({ key: Buffer.from(der.buffer), format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}
