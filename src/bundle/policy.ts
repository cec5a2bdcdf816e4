import type { EnclavePolicy } from './types.ts';

/** What a policy is checked against: the running enclave's identity. */
export interface EnclaveIdentity {
  /** The platform kind, e.g. `'gramine-sgx'`. */
  kind: string;
  /** The measurement (MRENCLAVE), hex. */
  measurement: string;
  /** The signer (MRSIGNER), hex. */
  mrSigner: string;
  /** The security version (ISVSVN). */
  isvSvn: number;
}

/**
 * True if the policy accepts this enclave (docs/bundle-format.md §4.5): its kind is listed; its
 * measurement is in `measurements` (when that list is not empty); its signer is in `mrSigners`
 * (when given); its ISVSVN is at least `minIsvSvn`. An entry with neither measurements nor
 * signers accepts any program of that kind (development only).
 *
 * @example
 * ```ts
 * policyAccepts(bundle.header.policy, { kind: 'sim', measurement, mrSigner, isvSvn: 1 }); // true for the default policy
 * ```
 */
export function policyAccepts(policy: EnclavePolicy, enclave: EnclaveIdentity): boolean {
  const entry = policy.platforms.find((p) => p.kind === enclave.kind);
  if (!entry) return false;
  if (entry.measurements.length > 0 && !entry.measurements.includes(enclave.measurement.toLowerCase())) return false;
  if (entry.mrSigners && !entry.mrSigners.includes(enclave.mrSigner.toLowerCase())) return false;
  return enclave.isvSvn >= (entry.minIsvSvn ?? 0);
}
