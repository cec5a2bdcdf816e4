import { hkdfSync } from 'node:crypto';
import { concatBytes } from './hash.ts';

// HKDF "info" labels: one named constant per key purpose, so that no two purposes can ever
// derive the same key from the same input (STYLE.md 7). A label is never reused for another
// purpose; a new purpose gets a new label. Versioned: a format change gets a new `v` number.

/** Derives the AES-256-GCM key of a bundle's sealed tail chunks from the model key (docs/bundle-format.md §5). */
export const LABEL_TAIL_CHUNK = 'enclave-nn/v1/tail-chunk';
/** Derives a bundle's key commitment from the model key (docs/bundle-format.md §5.3). */
export const LABEL_KEY_COMMITMENT = 'enclave-nn/v1/key-commitment';
/** Derives the key-wrapping key of {@link wrapToX25519} from an X25519 shared secret. */
export const LABEL_KEY_WRAP = 'enclave-nn/v1/key-wrap';
/** Derives a platform sealing key (sealed offline state) from a platform secret. */
export const LABEL_SEAL = 'enclave-nn/v1/seal';
/** Derives an enclave's usage-report key on the license server from its master key, the nonce and the attested key (docs/license-protocol.md §4.3). */
export const LABEL_REPORT_SEED = 'enclave-nn/v1/report-seed';
/** Domain-separation prefix of the provider's Ed25519 signature over a bundle header (docs/bundle-format.md §4). */
export const LABEL_BUNDLE_HEADER_SIGNATURE = 'enclave-nn/v1/bundle-header';
/** Derives a bundle's watermark seed (secret direction, label mapping) from the model key (docs/bundle-format.md §5.7). */
export const LABEL_WATERMARK = 'enclave-nn/v1/watermark';
/** Derives the provider's seed of the watermark verdict's random null keys from the model key (docs/watermark.md). */
export const LABEL_WATERMARK_NULL = 'enclave-nn/v1/watermark-null';

/**
 * HKDF-SHA256 (RFC 5869): extract with `salt`, expand with `info` to `length` bytes.
 *
 * `info` is a label constant (UTF-8 encoded) optionally followed by context bytes that bind
 * the derived key to its use (public keys, a transcript hash…): pass `[LABEL_X, ctx1, ctx2]`.
 *
 * @param ikm input keying material (a shared secret, a model key…)
 * @param salt a non-secret salt (may be empty)
 * @param info a label, or a label followed by context bytes
 * @param length output size in bytes (at most 255 × 32)
 * @example
 * ```ts
 * const tailKey = hkdfSha256(modelKey, new Uint8Array(0), LABEL_TAIL_CHUNK, 32);
 * const wrapKey = hkdfSha256(shared, sha256(transcript), [LABEL_KEY_WRAP, ephPub, recipientPub], 32);
 * ```
 */
export function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: string | [string, ...Uint8Array[]],
  length: number,
): Uint8Array {
  if (!Number.isInteger(length) || length < 1 || length > 255 * 32) {
    throw new RangeError(`hkdfSha256: length must be 1..8160, got ${length}`);
  }
  const infoBytes = typeof info === 'string'
    ? new TextEncoder().encode(info)
    : concatBytes(new TextEncoder().encode(info[0]), ...info.slice(1) as Uint8Array[]);
  return new Uint8Array(hkdfSync('sha256', ikm, salt, infoBytes, length));
}
