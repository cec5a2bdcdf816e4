/**
 * Writes the attack tool's data files for the paper's examples (docs/attack.md §6):
 * `data.npy` (the attacker's unlabelled inputs), `data-y.npy` (their true labels: only the
 * own-data baseline reads them, `attack --data-labels`), `test-x.npy` and `test-y.npy` (the
 * evaluator's labelled test set), from the same loaders the example trainings use.
 *
 * `node --import tsx src/attack/example-data.ts mnist|rt-polarity --out DIR [--data-rows N] [--test-rows N] [--data-source imdb]`
 *
 * - mnist: the attacker holds the last N training images (50,000 onward: outside the `--quick`
 *   training subset); the test set is the first `--test-rows` test images.
 * - rt-polarity: the attacker holds the first N training sentences (unlabelled; the training
 *   set is small, so it overlaps the victim's training data: a strong attacker); the test set
 *   is the held-out 10 %.
 * - rt-polarity `--data-source imdb`: out-of-distribution queries (docs/attack.md §3.6). The
 *   attacker holds the first N IMDB training reviews (balanced: the rows alternate positive and
 *   negative), tokenised in the Rotten Tomatoes style (`rtStyleTokens`) and encoded with the
 *   Rotten Tomatoes vocabulary and sequence length (`rtEncoder`: unknown words dropped, the last
 *   L tokens kept); `data-y.npy` holds their IMDB labels (1 = positive, as Rotten Tomatoes). The
 *   test set is still the Rotten Tomatoes held-out 10 %.
 *
 * Bad arguments are refused before anything is written; the four files are written into a
 * temporary sibling folder and moved into DIR only when all are complete.
 * @module
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { EnclaveNnError } from '../errors.ts';
import { writeNpy } from './npy.ts';

/** The examples {@link writeExampleData} knows. */
export const EXAMPLES = ['mnist', 'rt-polarity'] as const;
/** Where the attacker's inputs come from: the example's own training data, or IMDB reviews (rt-polarity only). */
export type DataSource = 'own' | 'imdb';

/** Options of {@link writeExampleData}. */
export interface ExampleDataOptions {
  /** Rows of data.npy (at most; the dataset may hold fewer). */
  dataRows: number;
  /** Rows of the test set (at most). */
  testRows: number;
  /** @defaultValue 'own' */
  dataSource?: DataSource;
}

const fail = (why: string) => new EnclaveNnError('USAGE', `Cannot write the attack's example data: ${why}`);

/** Checks the arguments (throws a one-line EnclaveNnError before anything is read or written). */
function checkArgs(name: string, o: ExampleDataOptions): void {
  if (!(EXAMPLES as readonly string[]).includes(name)) throw fail(`unknown example '${name}'; known: ${EXAMPLES.join(', ')}`);
  for (const [flag, v] of [['--data-rows', o.dataRows], ['--test-rows', o.testRows]] as const) {
    if (!Number.isInteger(v) || v < 1) throw fail(`${flag} must be an integer ≥ 1, got '${v}'`);
  }
  const source = o.dataSource ?? 'own';
  if (source !== 'own' && source !== 'imdb') throw fail(`--data-source must be 'own' (the example's training data, the default) or 'imdb', got '${source}'`);
  if (source === 'imdb' && name !== 'rt-polarity') throw fail(`--data-source imdb applies to rt-polarity only (IMDB reviews as queries to the Rotten Tomatoes model), not to '${name}'`);
}

type Npy = { dims: number[]; data: Float32Array | Int32Array };

/** The four arrays of one example. */
async function exampleArrays(name: string, o: ExampleDataOptions): Promise<{ data: Npy; dataY: Npy; testX: Npy; testY: Npy }> {
  if (name === 'mnist') {
    const { loadMnist } = await import('../datasets/mnist.ts');
    const train = loadMnist('train');
    const start = Math.max(0, train.count - o.dataRows);
    const n = train.count - start;
    const test = loadMnist('test', o.testRows);
    return {
      data: { dims: [n, 28, 28, 1], data: train.images.subarray(start * 784) }, dataY: { dims: [n], data: Int32Array.from(train.labels.subarray(start)) },
      testX: { dims: [test.count, 28, 28, 1], data: test.images }, testY: { dims: [test.count], data: Int32Array.from(test.labels) },
    };
  }
  const { loadRtPolarity, rtEncoder, rtStyleTokens } = await import('../datasets/rt-polarity.ts');
  const d = loadRtPolarity();
  const L = d.maxLength;
  const t = Math.min(o.testRows, d.test.count);
  const test = { testX: { dims: [t, L], data: d.test.x.subarray(0, t * L) }, testY: { dims: [t], data: Int32Array.from(d.test.labels.subarray(0, t)) } };
  if (o.dataSource === 'imdb') {
    const { loadImdb } = await import('../datasets/imdb.ts');
    const reviews = loadImdb('train', o.dataRows);
    const encode = rtEncoder(d);
    const x = new Float32Array(reviews.length * L);
    reviews.forEach((r, i) => x.set(encode(rtStyleTokens(r.text)), i * L));
    return { data: { dims: [reviews.length, L], data: x }, dataY: { dims: [reviews.length], data: Int32Array.from(reviews, (r) => r.label) }, ...test };
  }
  const n = Math.min(o.dataRows, d.train.count);
  return { data: { dims: [n, L], data: d.train.x.subarray(0, n * L) }, dataY: { dims: [n], data: Int32Array.from(d.train.labels.subarray(0, n)) }, ...test };
}

/**
 * Writes data.npy, data-y.npy, test-x.npy and test-y.npy of example `name` into `out` (created;
 * files of the same names replaced) and returns their row counts.
 *
 * @example
 * ```ts
 * await writeExampleData('rt-polarity', '/tmp/rt-imdb', { dataRows: 5000, testRows: 1066, dataSource: 'imdb' });
 * ```
 */
export async function writeExampleData(name: string, out: string, o: ExampleDataOptions): Promise<{ data: number; test: number }> {
  checkArgs(name, o);
  const a = await exampleArrays(name, o);
  const dir = resolve(out);
  mkdirSync(dirname(dir), { recursive: true });
  // All four files or none: written into a sibling temporary folder, then moved into place.
  const tmp = mkdtempSync(`${dir}.tmp-`);
  try {
    const files = { 'data.npy': a.data, 'data-y.npy': a.dataY, 'test-x.npy': a.testX, 'test-y.npy': a.testY };
    for (const [file, arr] of Object.entries(files)) writeNpy(join(tmp, file), arr);
    mkdirSync(dir, { recursive: true });
    for (const file of Object.keys(files)) renameSync(join(tmp, file), join(dir, file));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { data: a.data.dims[0]!, test: a.testX.dims[0]! };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const { values, positionals } = parseArgs({ args: process.argv.slice(2), allowPositionals: true, options: {
      out: { type: 'string' }, 'data-rows': { type: 'string' }, 'test-rows': { type: 'string' }, 'data-source': { type: 'string' },
    } });
    if (!positionals[0] || !values.out) throw fail(`usage: node --import tsx src/attack/example-data.ts ${EXAMPLES.join('|')} --out DIR [--data-rows N] [--test-rows N] [--data-source imdb]`);
    const r = await writeExampleData(positionals[0], values.out, {
      dataRows: Number(values['data-rows'] ?? 10000), testRows: Number(values['test-rows'] ?? 2000), dataSource: values['data-source'] as DataSource | undefined,
    });
    console.log(`wrote ${values.out}/data.npy and data-y.npy (${r.data} rows), test-x.npy and test-y.npy (${r.test} rows)`);
  } catch (e) {
    process.stderr.write(`example-data: ${(e as Error).message}\n`);
    // Bad usage (ours, or parseArgs' ERR_PARSE_ARGS_*) exits 2; anything else is an internal failure.
    process.exit(e instanceof EnclaveNnError ? e.exitCode : String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS') ? 2 : 1);
  }
}
