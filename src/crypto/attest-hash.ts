/**
 * The hashes remote attestation needs, exported for src/attest/ (which may not import
 * node:crypto): SHA-256 binds the attestation key to the QE report and fingerprints pinned
 * roots; SHA-512 fills the 64-byte REPORTDATA.
 */
import { createHash } from 'node:crypto';

/** SHA-256 of the concatenation of `parts` (32 bytes). */
export function attestSha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** SHA-512 of the concatenation of `parts` (64 bytes). */
export function attestSha512(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}
