/**
 * Where the shared datasets live: `../shared/datasets` beside the repository
 * (`/work/shared/datasets` here), overridable with `ENCLAVE_NN_DATASETS`.
 * @module
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from './build-cli.ts';
import { EnclaveNnError } from '../../src/errors.ts';

/**
 * The directory of one shared dataset; throws a one-line error naming it when absent.
 *
 * @param name e.g. 'imdb', 'rt-polarity'
 */
export function datasetDir(name: string): string {
  const base = process.env.ENCLAVE_NN_DATASETS ?? resolve(repoRoot, '..', 'shared', 'datasets');
  const dir = join(base, name);
  if (!existsSync(dir)) throw new EnclaveNnError('DATASET_MISSING', `Cannot find dataset ${name}: ${dir} does not exist (set ENCLAVE_NN_DATASETS)`);
  return dir;
}
