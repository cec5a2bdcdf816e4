import { importRawPrivateKey } from './rfc8410.ts';
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

/**
 * An X25519 private key handle from its raw 32-byte scalar (the inverse of
 * {@link x25519PrivateKeyToRaw}); its public key follows from it.
 */
export function x25519PrivateKeyFromRaw(raw: Uint8Array): X25519PrivateKey {
  if (raw.byteLength !== 32) throw new RangeError(`X25519 private key must be 32 bytes, got ${raw.byteLength}`);
  return importRawPrivateKey('x25519', raw);
}
