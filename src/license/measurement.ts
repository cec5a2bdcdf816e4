/**
 * The measurement a model policy names (docs/license-protocol.md §4.5), for the trusted program
 * built on this machine: on the sim platform, SHA-256 of the one bundled trusted-program file
 * (docs/enclave-protocol.md §7) — what its quotes report as MRENCLAVE.
 */
import { readFileSync } from 'node:fs';
import { sha256 } from '../crypto/index.ts';
import { trustedProgramPath } from '../enclave/trusted-program.ts';

/**
 * Lowercase hex sim measurement of the locally built trusted program.
 *
 * @example
 * ```ts
 * const m = await localSimMeasurement(); // 64 hex digits
 * ```
 */
export async function localSimMeasurement(): Promise<string> {
  return Buffer.from(sha256(new Uint8Array(readFileSync(await trustedProgramPath())))).toString('hex');
}
