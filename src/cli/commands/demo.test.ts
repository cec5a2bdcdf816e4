import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli.testkit.ts';

test('the README main job (demo) builds the MNIST CNN, measures every split through the enclave and writes the report', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'enn-demo-')), 'demo');
  const r = runCli(['demo', '--untrained', '--repeat', '2', '--out', out], { env: { ENCLAVE_NN_HOME: join(out, '..', 'home') }, timeoutMs: 600_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^8\s+conv2d\s/m, 'all 8 Keras layers of the MNIST CNN are splits');
  assert.match(r.stdout, /(?<!not )reached\s+Correctness: max abs diff ≤ 1e-5/);
  assert.match(r.stdout, /3\/3 report: .*report\.html/);
  const csv = readFileSync(join(out, 'report', 'splits.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 1 + 9, 'k = 0 … 8');
  assert.ok(existsSync(join(out, 'mnist-untrained', 'model.onnx')));
});
