/**
 * Key provisioning bytes (docs/license-protocol.md §4): the transcript and payload of the
 * enclave protocol's PROVISION (docs/enclave-protocol.md §4.3), and the license package the
 * payload's `license` field carries. Pure functions shared by the server and the enclave side.
 */
import { concatBytes, ed25519PublicKeyOf, unwrapWithX25519, wrapToX25519, type X25519PrivateKey } from '../crypto/index.ts';
import { decodeProvisionPayload, encodeProvisionPayload, provisionTranscript as enclaveTranscript } from '../enclave-protocol/provision-transcript.ts';
import { canonicalJson, parseCanonicalJson } from '../util/canonical-json.ts';
import { EnclaveNnError } from '../errors.ts';
import { toHex } from '../util/encoding.ts';

/** Size of a provisioning nonce (§4.1): 256 bits, so guessing or colliding one is hopeless. */
export const NONCE_SIZE = 32;
const utf8 = new TextEncoder();

/**
 * The PROVISION transcript (enclave protocol §4.3): binds the wrap to the model, the server's
 * nonce and the exact evidence, so it opens only in the enclave that answered this challenge.
 * The enclave protocol's own definition, re-exported so both sides build identical bytes.
 */
export function provisionTranscript(modelId: string, nonce: Uint8Array, evidence: Uint8Array): Uint8Array {
  return enclaveTranscript({ modelId, nonce, evidence });
}

/** What a license server delivers inside a PROVISION payload's `license` field (§4.4). */
export interface LicensePackage {
  /** The 32-byte Ed25519 seed the enclave signs usage reports with (secret; §5.1). */
  reportSeed: Uint8Array;
  /** The license token. */
  license: string;
  /** The initial grant token (seq 0). */
  grant: string;
}

/** Encodes a license package: `u8 version (1) ‖ reportSeed (32) ‖ canonical JSON {"grant","license"}` (§4.4). */
export function encodeLicensePackage(p: LicensePackage): Uint8Array {
  if (p.reportSeed.byteLength !== 32) throw new RangeError('report seed must be 32 bytes');
  return concatBytes(Uint8Array.of(1), p.reportSeed, utf8.encode(canonicalJson({ grant: p.grant, license: p.license })));
}

/** Decodes a license package; throws `LICENSE_PACKAGE`. */
export function decodeLicensePackage(b: Uint8Array): LicensePackage {
  try {
    if (b.byteLength < 34 || b[0] !== 1) throw new TypeError('not a version-1 license package');
    const v = parseCanonicalJson(b.subarray(33)) as Record<string, unknown>;
    if (typeof v !== 'object' || v === null || typeof v.license !== 'string' || typeof v.grant !== 'string' || Object.keys(v).length !== 2) throw new TypeError('expected {grant, license}');
    return { reportSeed: b.slice(1, 33), license: v.license, grant: v.grant };
  } catch (cause) {
    throw new EnclaveNnError('LICENSE_PACKAGE', `Cannot read license package: ${(cause as Error).message}`, { cause });
  }
}

/** The report key's public half, lowercase hex: the enclave's id in grants and reports (§5.1). */
export function enclaveIdOf(reportSeed: Uint8Array): string {
  return toHex(ed25519PublicKeyOf(reportSeed));
}

/**
 * Wraps the PROVISION payload (enclave protocol §4.3: `u8 1 ‖ bytes modelKey ‖ bytes license`)
 * to the enclave's attested X25519 key, bound to `transcript`.
 */
export function wrapProvisionPayload(keyPub: Uint8Array, transcript: Uint8Array, modelKey: Uint8Array, license: Uint8Array): Uint8Array {
  const plain = encodeProvisionPayload({ modelKey, license });
  try {
    return wrapToX25519(keyPub, plain, transcript);
  } finally {
    plain.fill(0);
  }
}

/** Opens a PROVISION payload (for tests and enclave-less tools); throws `KEY_WRAP` / `ENCLAVE_PROVISION`. */
export function unwrapProvisionPayload(privateKey: X25519PrivateKey, wrapped: Uint8Array, transcript: Uint8Array): { modelKey: Uint8Array; license: Uint8Array } {
  const p = unwrapWithX25519(privateKey, wrapped, transcript);
  try {
    return decodeProvisionPayload(p);
  } finally {
    p.fill(0);
  }
}
