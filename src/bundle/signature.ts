import { concatBytes, ed25519Sign, ed25519Verify, LABEL_BUNDLE_HEADER_SIGNATURE } from '../crypto/index.ts';
import { parseJsonLoose } from '../util/canonical-json.ts';
import { fromHex } from '../util/encoding.ts';

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

/** The outcome of {@link checkHeaderSignature}: the verified provider key, or what failed. */
export type HeaderSignatureCheck =
  | { ok: true; providerKey: Uint8Array; providerKeyHex: string }
  | { ok: false; failure: 'not-json' | 'no-provider-key' | 'bad-signature'; cause?: unknown };

/**
 * Verifies a header's signature with the providerKey the header itself names (§4.4), the one
 * field read before the signature verifies (§7 rows 5–6). Each reader (the bundle reader, the
 * enclave) maps a failure to its own error.
 *
 * @example
 * ```ts
 * const c = checkHeaderSignature(headerBytes, signature);
 * if (!c.ok) throw new Error(`header: ${c.failure}`);
 * ```
 */
export function checkHeaderSignature(headerBytes: Uint8Array, signature: Uint8Array): HeaderSignatureCheck {
  let key: unknown;
  try {
    const v = parseJsonLoose(headerBytes).value;
    key = typeof v === 'object' && v !== null ? (v as Record<string, unknown>).providerKey : undefined;
  } catch (cause) {
    return { ok: false, failure: 'not-json', cause };
  }
  if (typeof key !== 'string' || !/^[0-9a-f]{64}$/.test(key)) return { ok: false, failure: 'no-provider-key' };
  const providerKey = fromHex(key);
  // An Ed25519 signature is 64 bytes; anything else is refused before verifying.
  if (signature.byteLength !== 64 || !verifyHeader(providerKey, headerBytes, signature)) return { ok: false, failure: 'bad-signature' };
  return { ok: true, providerKey, providerKeyHex: key };
}
