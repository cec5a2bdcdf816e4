/**
 * REPORTDATA binding: the 64 bytes an enclave puts in its report tie the quote to one enclave
 * key and one server challenge (docs/attestation.md §6, docs/license-protocol.md).
 */
import { concatBytes, sha512 } from '../crypto/hash.ts';

/**
 * REPORTDATA = SHA-512(publicKey ‖ nonce): binds the enclave's X25519 public key (so the server
 * encrypts only to the attested enclave) and the server's nonce (so a quote cannot be replayed).
 * Both inputs are fixed size in the protocol (32-byte key, fixed nonce size), so plain
 * concatenation is unambiguous; other sizes are refused.
 *
 * @example
 * ```ts
 * const rd = reportDataFor(enclavePublicKey, serverNonce); // 64 bytes
 * verifyQuote(quote, { roots, at: new Date(), policy: { mrEnclave: [m], reportData: rd } });
 * ```
 */
export function reportDataFor(publicKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  if (publicKey.length !== 32) throw new RangeError(`reportDataFor: public key must be 32 bytes (X25519), got ${publicKey.length}`);
  if (nonce.length < 16) throw new RangeError(`reportDataFor: nonce must be at least 16 bytes, got ${nonce.length}`);
  return sha512(concatBytes(publicKey, nonce));
}
