/**
 * The key-provisioning transcript and payload (docs/enclave-protocol.md §4.3). Whoever hands a
 * model key to an enclave — the development key path, the license server — builds the same
 * transcript from the enclave's ATTEST answer, and wraps the payload to the enclave's key with
 * `wrapToX25519(publicKey, encodeProvisionPayload(…), provisionTranscript(…))`.
 */
import { concatBytes, sha256 } from '../crypto/index.ts';
import { ProtocolError } from './errors.ts';
import { PayloadReader, PayloadWriter } from './payload.ts';

const LABEL = new TextEncoder().encode('enclave-nn/v1/provision');

/** What the transcript binds (§4.3). */
export interface ProvisionContext {
  /** The bundle's model id. */
  modelId: string;
  /** The nonce the enclave attested over. */
  nonce: Uint8Array;
  /** The evidence (quote) it answered with. */
  evidence: Uint8Array;
}

/**
 * transcript = "enclave-nn/v1/provision" ‖ 0x00 ‖ u16 len ‖ modelId ‖ u16 len ‖ nonce ‖ SHA-256(evidence).
 * Length prefixes keep the fields unambiguous; the quote hash binds this very attestation.
 *
 * @example
 * ```ts
 * const wrapped = wrapToX25519(attest.publicKey, payload, provisionTranscript({ modelId, nonce, evidence: attest.evidence }));
 * ```
 */
export function provisionTranscript(ctx: ProvisionContext): Uint8Array {
  const id = new TextEncoder().encode(ctx.modelId);
  const lens = new Uint8Array(4);
  const v = new DataView(lens.buffer);
  v.setUint16(0, id.byteLength, true);
  v.setUint16(2, ctx.nonce.byteLength, true);
  return concatBytes(LABEL, Uint8Array.of(0), lens.subarray(0, 2), id, lens.subarray(2, 4), ctx.nonce, sha256(ctx.evidence));
}

/** What an enclave is provisioned with. */
export interface ProvisionPayload {
  /** The 32-byte model key K. */
  modelKey: Uint8Array;
  /** An opaque license (empty = none; the license protocol defines it). */
  license: Uint8Array;
}

/** payload = u8 version (1) ‖ bytes modelKey ‖ bytes license (§4.3). Zeroize the result after wrapping. */
export function encodeProvisionPayload(p: ProvisionPayload): Uint8Array {
  if (p.modelKey.byteLength !== 32) throw new RangeError(`model key must be 32 bytes, got ${p.modelKey.byteLength}`);
  return concatBytes(...new PayloadWriter().u8(1).bytes(p.modelKey).bytes(p.license).finish());
}

/** Parses a provision payload (copies out of `bytes`, which the caller then zeroes). */
export function decodeProvisionPayload(bytes: Uint8Array): ProvisionPayload {
  const r = new PayloadReader(bytes, 0);
  try {
    const version = r.u8();
    if (version !== 1) throw new ProtocolError('PROVISION', `Cannot provision: payload version ${version} is not 1`);
    const modelKey = r.bytes().slice();
    const license = r.bytes().slice();
    r.end();
    if (modelKey.byteLength !== 32) throw new ProtocolError('PROVISION', `Cannot provision: the model key is ${modelKey.byteLength} bytes, not 32`);
    return { modelKey, license };
  } catch (e) {
    if (e instanceof ProtocolError && e.protocolCode === 'PROVISION') throw e;
    throw new ProtocolError('PROVISION', 'Cannot provision: the unwrapped payload is malformed', { cause: e });
  }
}
