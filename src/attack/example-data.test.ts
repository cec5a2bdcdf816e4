// The attack's example data (docs/attack.md §6), in particular IMDB reviews as out-of-distribution
// queries to the Rotten Tomatoes model (§3.6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { datasetsBase } from '../datasets/dataset-dir.ts';
import { loadImdb } from '../datasets/imdb.ts';
import { loadRtPolarity, rtEncoder, rtStyleTokens } from '../datasets/rt-polarity.ts';
import { EnclaveNnError } from '../errors.ts';
import { writeExampleData } from './example-data.ts';
import { readNpy } from './npy.ts';

const needs = ['imdb', 'rt-polarity'].filter((d) => !existsSync(join(datasetsBase(), d)));
const skip = needs.length > 0 && `needs ../shared/datasets/${needs.join(', ')}`;

test('rt-polarity --data-source imdb: IMDB reviews in the Rotten Tomatoes encoding, their labels, the Rotten Tomatoes test set', { skip }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'enn-exdata-'));
  try {
    const r = await writeExampleData('rt-polarity', join(out, 'rt-imdb'), { dataRows: 40, testRows: 30, dataSource: 'imdb' });
    assert.deepEqual(r, { data: 40, test: 30 });
    const rt = loadRtPolarity();
    const L = rt.maxLength;
    const x = readNpy(join(out, 'rt-imdb', 'data.npy'));
    const y = readNpy(join(out, 'rt-imdb', 'data-y.npy'));
    assert.deepEqual(x.dims, [40, L]);
    assert.deepEqual(Array.from(y.data as Int32Array), Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 1 : 0)), 'IMDB rows alternate positive and negative');
    // Each row is that review, RT-style tokens in the RT vocabulary (not a Rotten Tomatoes sentence).
    const reviews = loadImdb('train', 40);
    const encode = rtEncoder(rt);
    for (const i of [0, 7, 39]) assert.deepEqual((x.data as Float32Array).subarray(i * L, (i + 1) * L), encode(rtStyleTokens(reviews[i]!.text)), `row ${i}`);
    assert.notDeepEqual((x.data as Float32Array).subarray(0, L), rt.train.x.subarray(0, L));
    // Reviews are long: almost every position of the last L tokens is a known word (ids in the vocabulary).
    const ids = Array.from(x.data as Float32Array);
    assert.ok(ids.every((v) => Number.isInteger(v) && v >= 0 && v < rt.vocabSize));
    const known = ids.filter((v) => v > 0).length / ids.length;
    assert.ok(known > 0.8, `known-word share ${known.toFixed(2)}`);
    const tx = readNpy(join(out, 'rt-imdb', 'test-x.npy'));
    assert.deepEqual(tx.dims, [30, L]);
    assert.deepEqual(tx.data, rt.test.x.subarray(0, 30 * L), 'the test set stays the Rotten Tomatoes held-out sentences');
    assert.deepEqual(Array.from(readNpy(join(out, 'rt-imdb', 'test-y.npy')).data as Int32Array), Array.from(rt.test.labels.subarray(0, 30)));
    assert.deepEqual(readdirSync(out), ['rt-imdb'], 'no temporary folder left behind');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('example data: bad arguments are one USAGE error before anything is read or written', async () => {
  const out = mkdtempSync(join(tmpdir(), 'enn-exdata-'));
  try {
    for (const [name, o, msg] of [
      ['mnist', { dataRows: 10, testRows: 10, dataSource: 'imdb' }, /--data-source imdb applies to rt-polarity only/],
      ['cifar', { dataRows: 10, testRows: 10 }, /unknown example 'cifar'; known: mnist, rt-polarity/],
      ['rt-polarity', { dataRows: 0, testRows: 10 }, /--data-rows must be an integer ≥ 1, got '0'/],
      ['rt-polarity', { dataRows: 10, testRows: Number.NaN }, /--test-rows must be an integer ≥ 1/],
      ['rt-polarity', { dataRows: 10, testRows: 10, dataSource: 'yelp' }, /--data-source must be 'own' .* or 'imdb', got 'yelp'/],
    ] as const) {
      await assert.rejects(writeExampleData(name, join(out, 'x'), o as Parameters<typeof writeExampleData>[2]), (e: unknown) => {
        assert.ok(e instanceof EnclaveNnError && e.code === 'USAGE' && e.exitCode === 2, String(e));
        assert.match(e.message, /^Cannot write the attack's example data: /);
        assert.match(e.message, msg);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    }
    assert.deepEqual(readdirSync(out), [], 'nothing written');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('example-data.ts as a script: a bad argument is one stderr line and exit 2, nothing written (real process)', () => {
  const out = mkdtempSync(join(tmpdir(), 'enn-exdata-'));
  try {
    const script = fileURLToPath(new URL('./example-data.ts', import.meta.url));
    for (const [args, msg] of [
      [['rt-polarity', '--out', join(out, 'x'), '--data-source', 'imdb', '--data-rows=-5'], /--data-rows must be an integer ≥ 1, got '-5'/],
      [['rt-polarity', '--out', join(out, 'x'), '--bogus'], /Unknown option '--bogus'/],
    ] as const) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^example-data: /);
      assert.match(r.stderr, msg);
    }
    assert.deepEqual(readdirSync(out), [], 'nothing written');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
