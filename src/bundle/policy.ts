import type { EnclavePolicy } from './types.ts';

/**
 * True if the policy accepts an enclave of platform `kind` with `measurement` (lowercase hex):
 * the kind is listed and its measurement list is empty (any; development only) or contains it
 * (docs/bundle-format.md §4.5).
 *
 * @example
 * ```ts
 * policyAccepts(bundle.header.policy, 'sim', measurementHex); // true for the default policy
 * ```
 */
export function policyAccepts(policy: EnclavePolicy, kind: string, measurement: string): boolean {
  const entry = policy.platforms.find((p) => p.kind === kind);
  if (!entry) return false;
  return entry.measurements.length === 0 || entry.measurements.includes(measurement.toLowerCase());
}
