/**
 * The one development switch of a license server on the sim platform (`--insecure-trust-sim`,
 * docs/license-protocol.md §4.5): this installation's INSECURE simulated SGX root, trusted for
 * sim models only. It announces itself at every use.
 */
import { loadOrCreateInsecureSimChain } from '../attest/sim.ts';
import type { PinnedRoot } from '../attest/types.ts';

/**
 * Loads (creating on first use) the sim root for {@link LicenseServiceOptions.insecureSimRoot}
 * and writes the INSECURE notice through `write`.
 *
 * @example
 * ```ts
 * const service = new LicenseService({ store, masterKey, roots: [INTEL_SGX_ROOT_CA], insecureSimRoot: insecureSimTrust('license-server', (s) => process.stderr.write(s)) });
 * ```
 */
export function insecureSimTrust(who: string, write: (text: string) => void): PinnedRoot {
  const chain = loadOrCreateInsecureSimChain();
  write(`enclave-nn: INSECURE: ${who} trusts the simulated SGX root ${chain.root.sha256} (${chain.dir}) for sim models, DEBUG enclaves included: sim quotes protect nothing\n`);
  return chain.root;
}
