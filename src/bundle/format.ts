import { EnclaveNnError } from '../errors.ts';

/** The 8-byte magic (docs/bundle-format.md §3): "\x89ENN\r\n\x1a\n". */
export const BUNDLE_MAGIC = Uint8Array.from([0x89, 0x45, 0x4e, 0x4e, 0x0d, 0x0a, 0x1a, 0x0a]);
/** The format version this implementation reads and writes (§3). */
export const BUNDLE_FORMAT_VERSION = 1;
/** Largest header accepted (§3, §7 row 4): 1 MiB. */
export const MAX_HEADER_SIZE = 1 << 20;
/** Size of the fixed prefix: magic, version, header size (§3). */
export const PREFIX_SIZE = 16;
/** The Ed25519 header signature's size (§4.4). */
export const SIGNATURE_SIZE = 64;
/** The only `tail.aead` value (§5.4). */
export const TAIL_AEAD = 'AES-256-GCM-STREAM';
/** Smallest allowed `tail.paddedSize` and `bucketMinSize` (§5.4). */
export const MIN_PADDED_SIZE = 1024;
/** Largest allowed `tail.paddedSize` (§5.4): 2 GiB, the protobuf size limit of an ONNX model anyway. */
export const MAX_PADDED_SIZE = 2 ** 31;
/** Default smallest size bucket (§5.1): 64 KiB. */
export const DEFAULT_BUCKET_MIN_SIZE = 64 * 1024;
/**
 * Default STREAM chunk size (§5.4): 1 MiB. Each chunk is one LOAD_CHUNK round trip through the
 * enclave (a frame, a decipher, an acknowledgement): at 64 KiB an 8 MiB tail took ≈ 37 ms from
 * LOAD to decrypted, at 1 MiB ≈ 20 ms (decisions 48). Memory in the enclave: one chunk at a time.
 */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
/** Allowed chunk sizes (§5.4). */
export const MIN_CHUNK_SIZE = 256;
/** Allowed chunk sizes (§5.4). */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/** Size of the length prefix inside the padded plaintext (§5.1). */
export const LENGTH_PREFIX_SIZE = 8;

/** The error every bundle check throws: `Cannot open bundle <source>: <why>` (§7). */
export function bundleError(code: string, source: string, why: string, cause?: unknown): EnclaveNnError {
  return new EnclaveNnError(code, `Cannot open bundle ${source}: ${why}`, cause === undefined ? {} : { cause });
}

/** Hex helpers, re-exported for the bundle's readers (defined once in util/encoding.ts). */
export { fromHex, toHex } from '../util/encoding.ts';
