/**
 * Certificate chain verification up to a pinned root (docs/attestation.md §3 steps 2–4).
 * Used for the quote's PCK chain and for the collateral issuer chains.
 */
import { EnclaveNnError } from '../errors.ts';
import {
  isIssuedBy, isValidAt, parseCertificate, parsePemCertificates, type Certificate,
} from '../crypto/x509.ts';
import type { PinnedRoot } from './types.ts';

/** A verified chain: `certs[0]` is the leaf, the last is the pinned root. */
export interface VerifiedChain {
  readonly certs: readonly Certificate[];
  readonly leaf: Certificate;
  readonly root: Certificate;
  readonly pinned: PinnedRoot;
}

/**
 * Verifies a PEM chain `leaf ‖ … ‖ root`:
 * 1. it parses, strictly, into exactly `length` certificates (`ATTEST_CHAIN`);
 * 2. the last is byte-identical to a pinned root: its SHA-256 is pinned (`ATTEST_ROOT_NOT_PINNED`);
 * 3. the root is self-signed and every certificate is issued and signed by the next; the leaf
 *    is not a CA unless `leafKind` is 'ca' (a CRL issuer chain) (`ATTEST_CHAIN`);
 * 4. every certificate is valid at `at` (`ATTEST_CERT_EXPIRED`).
 *
 * `what` names the chain in messages (e.g. "PCK chain").
 */
export function verifyChain(pem: string | Uint8Array, roots: readonly PinnedRoot[], at: Date, what: string, length = 3, leafKind: 'end-entity' | 'ca' = 'end-entity'): VerifiedChain {
  let certs: Certificate[];
  try {
    certs = parsePemCertificates(pem).map(parseCertificate);
  } catch (e) {
    throw new EnclaveNnError('ATTEST_CHAIN', `Cannot verify ${what}: ${(e as Error).message}`, { cause: e });
  }
  if (certs.length !== length) {
    throw new EnclaveNnError('ATTEST_CHAIN', `Cannot verify ${what}: it holds ${certs.length} certificates, expected ${length}`);
  }
  const root = certs[certs.length - 1]!;
  const leaf = certs[0]!;
  // Trust comes from the fingerprint only; a name match means nothing (test roots reuse Intel's).
  const pinned = roots.find((r) => r.sha256.toLowerCase() === root.sha256);
  if (!pinned) {
    throw new EnclaveNnError('ATTEST_ROOT_NOT_PINNED', `Cannot verify ${what}: root "${root.subjectCN}" (SHA-256 ${root.sha256}) is not a pinned root (pinned: ${roots.map((r) => r.name).join(', ') || 'none'})`);
  }
  if (!isIssuedBy(root, root)) throw new EnclaveNnError('ATTEST_CHAIN', `Cannot verify ${what}: root "${root.subjectCN}" is not a self-signed CA`);
  for (let i = 0; i < certs.length - 1; i++) {
    if (!isIssuedBy(certs[i]!, certs[i + 1]!)) {
      throw new EnclaveNnError('ATTEST_CHAIN', `Cannot verify ${what}: "${certs[i]!.subjectCN}" is not signed by "${certs[i + 1]!.subjectCN}"`);
    }
  }
  // pathLenConstraint: certs[i] (i ≥ 1) has i - 1 CA certificates below it in this chain.
  for (let i = 2; i < certs.length; i++) {
    const limit = certs[i]!.pathLen;
    if (limit !== undefined && i - 1 > limit) {
      throw new EnclaveNnError('ATTEST_CHAIN', `Cannot verify ${what}: "${certs[i]!.subjectCN}" allows ${limit} intermediate CA(s), the chain has ${i - 1}`);
    }
  }
  // A CA certificate as leaf would let an intermediate key stand in for a PCK or TCB signing key.
  if (leaf.isCA !== (leafKind === 'ca')) throw new EnclaveNnError('ATTEST_CHAIN', `Cannot verify ${what}: leaf "${leaf.subjectCN}" is ${leaf.isCA ? '' : 'not '}a CA certificate`);
  for (const c of certs) {
    if (!isValidAt(c, at)) {
      throw new EnclaveNnError('ATTEST_CERT_EXPIRED', `Cannot verify ${what}: "${c.subjectCN}" is valid ${c.notBefore.toISOString()} .. ${c.notAfter.toISOString()}, not at ${at.toISOString()}`);
    }
  }
  return { certs, leaf, root, pinned };
}
