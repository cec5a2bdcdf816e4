/**
 * Pinned trust anchors. A root is trusted because the SHA-256 of its DER equals a pinned value,
 * never because of its name: public test suites carry roots named "Intel SGX Root CA" with other
 * keys (docs/attestation.md §4).
 */
import { EnclaveNnError } from '../errors.ts';
import type { PinnedRoot } from './types.ts';

/**
 * Intel SGX Root CA, the production trust anchor of SGX DCAP: SHA-256 of its DER as published by
 * Intel (https://certificates.trustedservices.intel.com/Intel_SGX_Provisioning_Certification_RootCA.cer).
 */
export const INTEL_SGX_ROOT_CA: PinnedRoot = Object.freeze({
  name: 'Intel SGX Root CA',
  sha256: '44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3',
});

/**
 * A {@link PinnedRoot} from a fingerprint in hex (colons and case ignored).
 *
 * @example
 * ```ts
 * pinnedRoot('my root', '44:A0:19:6B:…') // { name: 'my root', sha256: '44a0196b…' }
 * ```
 */
export function pinnedRoot(name: string, fingerprint: string): PinnedRoot {
  const sha256 = fingerprint.replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(sha256)) {
    throw new EnclaveNnError('ATTEST_ROOT_INVALID', `Cannot pin root ${name}: fingerprint is not 32 bytes of hex`);
  }
  return { name, sha256 };
}
