/**
 * Raw 32-byte Ed25519 / X25519 keys as node:crypto KeyObjects, through the fixed DER prefixes of
 * RFC 8410 (PKCS#8 for a private key, SPKI for a public one). The prefixes differ only in the
 * OID's last byte: 1.3.101.112 (id-Ed25519) or 1.3.101.110 (id-X25519). Callers check sizes.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

const OID_LAST = { ed25519: 0x70, x25519: 0x6e } as const;

/** The curve of a raw RFC 8410 key. */
export type Rfc8410Curve = keyof typeof OID_LAST;

/**
 * Imports a raw 32-byte private key (an Ed25519 seed, an X25519 scalar) as PKCS#8 DER.
 *
 * @example
 * ```ts
 * const key = importRawPrivateKey('ed25519', seed);
 * ```
 */
export function importRawPrivateKey(curve: Rfc8410Curve, raw: Uint8Array): KeyObject {
  const prefix = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, OID_LAST[curve], 0x04, 0x22, 0x04, 0x20];
  const der = new Uint8Array(prefix.length + raw.byteLength);
  der.set(prefix, 0);
  der.set(raw, prefix.length);
  try {
    return createPrivateKey({ key: Buffer.from(der.buffer), format: 'der', type: 'pkcs8' });
  } finally {
    // The DER copy holds the secret: wipe it once node:crypto has its own.
    der.fill(0);
  }
}

/** Imports a raw 32-byte public key as SPKI DER; throws on a key node:crypto refuses. */
export function importRawPublicKey(curve: Rfc8410Curve, raw: Uint8Array): KeyObject {
  const prefix = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, OID_LAST[curve], 0x03, 0x21, 0x00];
  const der = new Uint8Array(prefix.length + raw.byteLength);
  der.set(prefix, 0);
  der.set(raw, prefix.length);
  return createPublicKey({ key: Buffer.from(der.buffer), format: 'der', type: 'spki' });
}
