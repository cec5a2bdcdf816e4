import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The per-user state directory: `$ENCLAVE_NN_HOME`, else `~/.enclave-nn`. Tests point it at a
 * temporary directory.
 */
export function enclaveNnHome(): string {
  return process.env.ENCLAVE_NN_HOME || join(homedir(), '.enclave-nn');
}
