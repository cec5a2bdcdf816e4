/**
 * Key provisioning bytes (docs/license-protocol.md §4): the transcript and payload of the
 * enclave protocol's PROVISION (docs/enclave-protocol.md §4.3), and the license package the
 * payload's `license` field carries. Pure functions shared by the server and the enclave side.
 */
import { concatBytes, ed25519PublicKeyOf, sha256, unwrapWithX25519, wrapToX25519, type X25519PrivateKey } from '../crypto/index.ts';
import { canonicalJson, parseCanonicalJson } from '../bundle/canonical-json.ts';
import { EnclaveNnError } from '../errors.ts';

/** Size of a provisioning nonce (§4.1): 256 bits, so guessing or colliding one is hopeless. */
export const NONCE_SIZE = 32;
const utf8 = new TextEncoder();

const u16le = (n: number): Uint8Array => Uint8Array.of(n & 0xff, n >>> 8);
const u32le = (n: number): Uint8Array => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };

/**
 * The PROVISION transcript (enclave protocol §4.3): binds the wrap to the model, the server's
 * nonce and the exact evidence, so it opens only in the enclave that answered this challenge.
 *
 * `"enclave-nn/v1/provision" ‖ 0x00 ‖ u16(len modelId) ‖ modelId ‖ u16(len nonce) ‖ nonce ‖ SHA-256(evidence)`
 */
export function provisionTranscript(modelId: string, nonce: Uint8Array, evidence: Uint8Array): Uint8Array {
  const id = utf8.encode(modelId);
  return concatBytes(utf8.encode('enclave-nn/v1/provision'), Uint8Array.of(0), u16le(id.byteLength), id, u16le(nonce.byteLength), nonce, sha256(evidence));
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
  return Buffer.from(ed25519PublicKeyOf(reportSeed)).toString('hex');
}

/**
 * Wraps the PROVISION payload `u8 1 ‖ bytes modelKey ‖ bytes license` (enclave protocol §4.3;
 * `bytes` = u32 LE size ‖ data) to the enclave's attested X25519 key, bound to `transcript`.
 */
export function wrapProvisionPayload(keyPub: Uint8Array, transcript: Uint8Array, modelKey: Uint8Array, license: Uint8Array): Uint8Array {
  if (modelKey.byteLength !== 32) throw new RangeError('model key must be 32 bytes');
  const plain = concatBytes(Uint8Array.of(1), u32le(32), modelKey, u32le(license.byteLength), license);
  try {
    return wrapToX25519(keyPub, plain, transcript);
  } finally {
    plain.fill(0);
  }
}

/** Opens a PROVISION payload (for tests and enclave-less tools); throws `KEY_WRAP` / `PROVISION_PAYLOAD`. */
export function unwrapProvisionPayload(privateKey: X25519PrivateKey, wrapped: Uint8Array, transcript: Uint8Array): { modelKey: Uint8Array; license: Uint8Array } {
  const p = unwrapWithX25519(privateKey, wrapped, transcript);
  try {
    const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
    if (p.byteLength < 41 || p[0] !== 1 || dv.getUint32(1, true) !== 32) throw new TypeError('bad header');
    const n = dv.getUint32(37, true);
    if (41 + n !== p.byteLength) throw new TypeError('bad license size');
    return { modelKey: p.slice(5, 37), license: p.slice(41) };
  } catch (cause) {
    throw new EnclaveNnError('PROVISION_PAYLOAD', `Cannot read provisioning payload: ${(cause as Error).message}`, { cause });
  } finally {
    p.fill(0);
  }
}
