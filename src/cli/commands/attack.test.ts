import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outputLabels } from '../../attack/evaluate.ts';
import { writeNpy } from '../../attack/npy.ts';
import { gaussianInputs, linearTailModel } from '../../attack/support.testkit.ts';
import { encodeModel } from '../../onnx/codec.ts';
import { runOnnx } from '../../onnx/ort.ts';
import { assertUsageErrors, runCli, runMain } from '../cli.testkit.ts';

const dir = mkdtempSync(join(tmpdir(), 'enn-attack-cli-'));
const model = linearTailModel();
writeFileSync(join(dir, 'model.onnx'), encodeModel(model));
writeNpy(join(dir, 'data.npy'), gaussianInputs(300, 8, 1) as { dims: number[]; data: Float32Array });
const xt = gaussianInputs(200, 8, 2) as { dims: number[]; data: Float32Array };
writeNpy(join(dir, 'test-x.npy'), xt);
const home = mkdtempSync(join(tmpdir(), 'enn-home-'));
process.env.ENCLAVE_NN_HOME = home; // the in-process runs (runMain) and their enclaves
after(() => { rmSync(dir, { recursive: true, force: true }); rmSync(home, { recursive: true, force: true }); });

test('enclave-nn attack: table, recommendation, attack.json/csv, chart and report.html written; a saved bench report reused (as a real process)', async () => {
  writeNpy(join(dir, 'test-y.npy'), { dims: [200], data: outputLabels((await runOnnx(model, { x: { dtype: 'float32', ...xt } }))['probs']!) });
  const out = join(dir, 'report');
  const r = await runMain(['attack', join(dir, 'model.onnx'), '--data', join(dir, 'data.npy'), '--test', dir, '--queries', '0,300',
    '--bench-repeat', '1', '--train-passes', '3000', '--max-stolen-accuracy', '0.99', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /stolen @Q=300/);
  assert.match(r.stdout, /Recommended split: k = \d|No evaluated split/);
  for (const f of ['report.html', 'attack.json', 'attack.csv', 'attack.md', 'protection-vs-cost.svg', 'protection-vs-cost.png', 'report.json']) assert.ok(existsSync(join(out, f)), f);
  const j = JSON.parse(readFileSync(join(out, 'attack.json'), 'utf8'));
  assert.deepEqual(j.splits.map((s: { k: number }) => s.k), [0, 1, 2]);
  assert.equal(j.splits[1].rows.length, 4); // 2 attackers × 2 budgets
  assert.ok(j.splits[1].teeImpact > 0, 'the split carries its cost from the bench');
  const csv = readFileSync(join(out, 'attack.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0]!.split(',')[0], 'k');
  assert.equal(csv.length, 1 + 1 + 4 + 4);
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /Protection against model stealing/);

  // Reusing that bench report: no new measurement, the same costs.
  const again = join(dir, 'report2');
  const r2 = runCli(['attack', join(dir, 'model.onnx'), '--data', join(dir, 'data.npy'), '--test', join(dir, 'test-x.npy'), '--labels', join(dir, 'test-y.npy'),
    '--queries', '0', '--splits', '0,1', '--bench', join(out, 'report.json'), '--out', again], { env: { ENCLAVE_NN_HOME: home }, timeoutMs: 180_000 });
  assert.equal(r2.code, 0, r2.stderr);
  assert.doesNotMatch(r2.stderr, /measuring the cost/);
  const j2 = JSON.parse(readFileSync(join(again, 'attack.json'), 'utf8'));
  assert.deepEqual(j2.splits.map((s: { k: number }) => s.k), [0, 1]);
  assert.equal(j2.splits[1].teeImpact, j.splits[1].teeImpact);
});

test('enclave-nn attack: bad input is one line on stderr, exit 2, nothing written', async () => {
  const out = join(dir, 'never');
  const base = ['attack', join(dir, 'model.onnx'), '--test', dir, '--out', out];
  // The error is one line (the CLI may add the usage line after it), exit 2, nothing written.
  await assertUsageErrors([
    [[...base, '--data', join(dir, 'data.npy'), '--mode', 'soft'], /--mode must be 'label' or 'prob'/],
    [[...base, '--data', join(dir, 'data.npy'), '--queries', '5000'], /--data has 300 rows, --queries needs 5000/],
    [[...base, '--data', join(dir, 'missing.npy')], /Cannot read .*missing\.npy: ENOENT/],
    [[...base, '--data', join(dir, 'model.onnx')], /not a \.npy file/],
    [base, /missing --data/],
  ] as const, out);
});
