/**
 * All of Enclave-NN's cryptography, in one audited folder (STYLE.md 7): the only place that
 * imports node:crypto. Every key and nonce choice below carries its one-line reason.
 *
 * - hashes and comparison: {@link sha256}, {@link sha512}, {@link timingSafeEqual}
 * - randomness: {@link randomBytes}; wiping: {@link zeroize}
 * - key derivation: {@link hkdfSha256} with the `LABEL_*` constants
 * - AES-256-GCM: one-shot {@link aeadSeal}/{@link aeadOpen}; chunked STREAM {@link sealStream},
 *   {@link openStream}, {@link StreamOpener}
 * - key delivery: X25519 {@link wrapToX25519}/{@link unwrapWithX25519}
 * - signatures: Ed25519 {@link ed25519Sign}/{@link ed25519Verify}
 * - attestation: `der` (DER reader/writer), ECDSA P-256, X.509 certificates and CRLs
 *
 * @module
 */
export { randomBytes } from './random.ts';
export { sha256, sha512, timingSafeEqual, concatBytes } from './hash.ts';
export { isAllZero, zeroize } from './zeroize.ts';
export {
  hkdfSha256,
  LABEL_TAIL_CHUNK, LABEL_KEY_COMMITMENT, LABEL_KEY_WRAP, LABEL_SEAL, LABEL_BUNDLE_HEADER_SIGNATURE, LABEL_REPORT_SEED, LABEL_WATERMARK, LABEL_WATERMARK_NULL,
} from './hkdf.ts';
export {
  aeadSeal, aeadOpen, sealStream, openStream, streamNonce, StreamOpener,
  AEAD_KEY_SIZE, AEAD_NONCE_SIZE, AEAD_TAG_SIZE, STREAM_PREFIX_SIZE, STREAM_DEFAULT_CHUNK_SIZE, STREAM_MAX_CHUNKS,
  type SealStreamOptions, type SealedStream,
} from './aead-stream.ts';
export {
  generateX25519KeyPair, x25519PublicKeyOf, wrapToX25519, unwrapWithX25519,
  X25519_PUBLIC_KEY_SIZE, X25519_WRAP_OVERHEAD,
  type X25519KeyPair, type X25519PrivateKey,
} from './x25519-wrap.ts';
export {
  generateEd25519KeyPair, ed25519PublicKeyOf, ed25519Sign, ed25519Verify,
  ED25519_PUBLIC_KEY_SIZE, ED25519_SEED_SIZE, ED25519_SIGNATURE_SIZE,
  type Ed25519KeyPair,
} from './ed25519.ts';

// Attestation primitives (DER, X.509, ECDSA P-256; written for src/attest/).
export * as der from './der.ts';
export * from './ecdsa.ts';
export * from './x509.ts';
export * from './x509-build.ts';
export * from './x509-crl.ts';
