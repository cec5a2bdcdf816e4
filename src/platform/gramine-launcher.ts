import { resolve } from 'node:path';
import type { Launcher } from './types.ts';

/**
 * How the host starts the enclave on SGX: `gramine-sgx enclave-nn` in `<dir>`, the folder holding
 * the signed manifest made from `enclave-nn gramine manifest` (docs/deploy-sgx.md). It runs in
 * that folder because the manifest names the program's files relative to it. The manifest fixes
 * the program's arguments, so the host's arguments are not passed on.
 *
 * @param dir @defaultValue `$ENCLAVE_NN_GRAMINE_DIR` or `out/gramine`
 */
export function gramineLauncher(dir = process.env.ENCLAVE_NN_GRAMINE_DIR ?? 'out/gramine'): Launcher {
  const cwd = resolve(dir);
  return () => ({ file: 'gramine-sgx', args: ['enclave-nn'], cwd });
}

/**
 * The platform a bundle's policy asks for: `gramine-sgx` when it accepts only that kind, else
 * `sim` (which a policy must name explicitly to be accepted by the enclave).
 */
export function platformForPolicy(kinds: readonly string[]): string {
  return kinds.length > 0 && kinds.every((k) => k === 'gramine-sgx') ? 'gramine-sgx' : 'sim';
}
