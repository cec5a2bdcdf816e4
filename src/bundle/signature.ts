import { concatBytes, ed25519Sign, ed25519Verify, LABEL_BUNDLE_HEADER_SIGNATURE } from '../crypto/index.ts';

/** The signed message (docs/bundle-format.md §4.4): label ‖ 0x00 ‖ header bytes. */
function signingMessage(headerBytes: Uint8Array): Uint8Array {
  // Domain separation: a provider key's bundle signatures cannot be replayed as anything else.
  return concatBytes(new TextEncoder().encode(LABEL_BUNDLE_HEADER_SIGNATURE), Uint8Array.of(0), headerBytes);
}

/** Signs header bytes with the provider's 32-byte Ed25519 seed (§4.4). */
export function signHeader(signingKey: Uint8Array, headerBytes: Uint8Array): Uint8Array {
  return ed25519Sign(signingKey, signingMessage(headerBytes));
}

/** True if `signature` is the provider's signature over `headerBytes` (§4.4). */
export function verifyHeader(providerKey: Uint8Array, headerBytes: Uint8Array, signature: Uint8Array): boolean {
  return ed25519Verify(providerKey, signingMessage(headerBytes), signature);
}
