/**
 * Byte ↔ text encodings, defined once: lowercase hex (measurements, ids, key commitments) and
 * base64url without padding (RFC 4648 §5; the license protocol's byte fields).
 *
 * @example
 * ```ts
 * toHex(Uint8Array.of(0xab, 1)); // 'ab01'
 * fromBase64Url(toBase64Url(bytes)); // the same bytes
 * ```
 * @module
 */

/** Lowercase hex of bytes. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Bytes of hex (the caller validated it: Node stops at the first non-hex pair). */
export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** base64url of bytes, without padding. */
export function toBase64Url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}

/** Bytes of base64url (the caller validated it: Node skips characters outside the alphabet). */
export function fromBase64Url(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64url'));
}
