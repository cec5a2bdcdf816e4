/**
 * Where the shared datasets live: `../shared/datasets` beside the repository
 * (`/work/shared/datasets` here), overridable with `ENCLAVE_NN_DATASETS`.
 * @module
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnclaveNnError } from '../errors.ts';

/** The folder of all shared datasets: `$ENCLAVE_NN_DATASETS`, else `../shared/datasets` beside the repository. */
export function datasetsBase(): string {
  return process.env.ENCLAVE_NN_DATASETS ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'datasets');
}

/**
 * The directory of one shared dataset; throws a one-line error naming it when absent.
 *
 * @param name e.g. 'imdb', 'rt-polarity'
 */
export function datasetDir(name: string): string {
  const dir = join(datasetsBase(), name);
  if (!existsSync(dir)) throw new EnclaveNnError('DATASET_MISSING', `Cannot find dataset ${name}: ${dir} does not exist (set ENCLAVE_NN_DATASETS)`);
  return dir;
}
