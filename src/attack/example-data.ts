/**
 * Writes the attack tool's data files for the paper's examples (docs/attack.md §6):
 * `data.npy` (the attacker's unlabelled inputs), `data-y.npy` (their true labels: only the
 * own-data baseline reads them, `attack --data-labels`), `test-x.npy` and `test-y.npy` (the
 * evaluator's labelled test set), from the same loaders the example trainings use.
 *
 * `node --import tsx src/attack/example-data.ts mnist|rt-polarity --out DIR [--data-rows N] [--test-rows N]`
 *
 * - mnist: the attacker holds the last N training images (50,000 onward: outside the `--quick`
 *   training subset); the test set is the first `--test-rows` test images.
 * - rt-polarity: the attacker holds the first N training sentences (unlabelled; the training
 *   set is small, so it overlaps the victim's training data: a strong attacker); the test set
 *   is the held-out 10 %.
 * @module
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { writeNpy } from './npy.ts';

/** Writes the three files; returns their row counts. */
export async function writeExampleData(name: string, out: string, dataRows: number, testRows: number): Promise<{ data: number; test: number }> {
  mkdirSync(out, { recursive: true });
  if (name === 'mnist') {
    const { loadMnist } = await import('../datasets/mnist.ts');
    const train = loadMnist('train');
    const start = Math.max(0, train.count - dataRows);
    const n = train.count - start;
    writeNpy(join(out, 'data.npy'), { dims: [n, 28, 28, 1], data: train.images.subarray(start * 784) });
    writeNpy(join(out, 'data-y.npy'), { dims: [n], data: Int32Array.from(train.labels.subarray(start)) });
    const test = loadMnist('test', testRows);
    writeNpy(join(out, 'test-x.npy'), { dims: [test.count, 28, 28, 1], data: test.images });
    writeNpy(join(out, 'test-y.npy'), { dims: [test.count], data: Int32Array.from(test.labels) });
    return { data: n, test: test.count };
  }
  if (name === 'rt-polarity') {
    const { loadRtPolarity } = await import('../datasets/rt-polarity.ts');
    const d = loadRtPolarity();
    const n = Math.min(dataRows, d.train.count);
    const t = Math.min(testRows, d.test.count);
    writeNpy(join(out, 'data.npy'), { dims: [n, d.maxLength], data: d.train.x.subarray(0, n * d.maxLength) });
    writeNpy(join(out, 'data-y.npy'), { dims: [n], data: Int32Array.from(d.train.labels.subarray(0, n)) });
    writeNpy(join(out, 'test-x.npy'), { dims: [t, d.maxLength], data: d.test.x.subarray(0, t * d.maxLength) });
    writeNpy(join(out, 'test-y.npy'), { dims: [t], data: Int32Array.from(d.test.labels.subarray(0, t)) });
    return { data: n, test: t };
  }
  throw new RangeError(`unknown example '${name}'; known: mnist, rt-polarity`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values, positionals } = parseArgs({ args: process.argv.slice(2), allowPositionals: true, options: {
    out: { type: 'string' }, 'data-rows': { type: 'string' }, 'test-rows': { type: 'string' },
  } });
  if (!positionals[0] || !values.out) {
    process.stderr.write('usage: node --import tsx src/attack/example-data.ts mnist|rt-polarity --out DIR [--data-rows N] [--test-rows N]\n');
    process.exit(2);
  }
  const r = await writeExampleData(positionals[0], values.out, Number(values['data-rows'] ?? 10000), Number(values['test-rows'] ?? 2000));
  console.log(`wrote ${values.out}/data.npy and data-y.npy (${r.data} rows), test-x.npy and test-y.npy (${r.test} rows)`);
}
