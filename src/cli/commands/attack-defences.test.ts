// `enclave-nn attack` with issue 16's flags: --defences, --seeds, --data-labels, --min-epochs,
// --save-substitutes (in-process through runMain; the real-process smoke test is attack.test.ts).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outputLabels } from '../../attack/evaluate.ts';
import { writeNpy } from '../../attack/npy.ts';
import { gaussianInputs, linearTailModel } from '../../attack/support.testkit.ts';
import { encodeModel } from '../../onnx/codec.ts';
import { runOnnx } from '../../onnx/ort.ts';
import { assertUsageErrors, runMain } from '../cli.testkit.ts';

const dir = mkdtempSync(join(tmpdir(), 'enn-attack-def-'));
const model = linearTailModel();
writeFileSync(join(dir, 'model.onnx'), encodeModel(model));
const x = gaussianInputs(300, 8, 1) as { dims: number[]; data: Float32Array };
writeNpy(join(dir, 'data.npy'), x);
const xt = gaussianInputs(200, 8, 2) as { dims: number[]; data: Float32Array };
writeNpy(join(dir, 'test-x.npy'), xt);
const home = mkdtempSync(join(tmpdir(), 'enn-home-'));
process.env.ENCLAVE_NN_HOME = home; // the in-process runs and their enclaves
after(() => { rmSync(dir, { recursive: true, force: true }); rmSync(home, { recursive: true, force: true }); });

const labelsOf = async (t: { dims: number[]; data: Float32Array }) => outputLabels((await runOnnx(model, { x: { dtype: 'float32', ...t } }))['probs']!);

test('enclave-nn attack --defences label,top-k:1 --seeds 2 --data-labels --save-substitutes --query-source: every defence, seed and substitute reported and saved', async () => {
  writeNpy(join(dir, 'test-y.npy'), { dims: [200], data: await labelsOf(xt) });
  writeNpy(join(dir, 'data-y.npy'), { dims: [300], data: await labelsOf(x) });
  const out = join(dir, 'report');
  const subs = join(dir, 'subs');
  mkdirSync(subs); // an empty folder is accepted
  const r = await runMain(['attack', join(dir, 'model.onnx'), '--data', join(dir, 'data.npy'), '--test', dir, '--queries', '100', '--splits', '1',
    '--attackers', 'generic', '--defences', 'label,top-k:1', '--seeds', '2', '--data-labels', join(dir, 'data-y.npy'), '--min-epochs', '3',
    '--bench-repeat', '1', '--train-passes', '1000', '--max-stolen-accuracy', '0.5', '--save-substitutes', subs, '--query-source', 'other <data>', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /substitutes: 6 ONNX tails in /);
  const j = JSON.parse(readFileSync(join(out, 'attack.json'), 'utf8'));
  assert.deepEqual(j.options.defences, ['label', 'top-k:1']);
  assert.deepEqual(j.options.seeds, [1, 2]);
  assert.equal(j.options.minEpochs, 3);
  assert.equal(j.options.querySource, 'other <data>');
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /Attacker inputs: 300 rows \(other &lt;data&gt;\)/, 'the query source is named in the report, escaped');
  const k1 = j.splits.find((s: { k: number }) => s.k === 1);
  // generic under both defences, own-data (no query) once: 3 rows, each over 2 seeds.
  assert.deepEqual(k1.rows.map((row: { defence: string; attacker: string }) => `${row.defence} ${row.attacker}`).sort(), ['label generic', 'label own-data', 'top-k:1 generic']);
  for (const row of k1.rows) assert.equal(row.perSeed.length, 2);
  assert.deepEqual(k1.defences.map((d: { defence: string }) => d.defence), ['label', 'top-k:1']);
  assert.ok(k1.defences.every((d: { queryCap: number | null }) => d.queryCap === null || d.queryCap === 100));
  const files = readdirSync(subs).sort();
  assert.deepEqual(files, ['k1-head.onnx', 'k1-label-generic-q100-s1.onnx', 'k1-label-generic-q100-s2.onnx', 'k1-label-own-data-q100-s1.onnx',
    'k1-label-own-data-q100-s2.onnx', 'k1-top-k-1-generic-q100-s1.onnx', 'k1-top-k-1-generic-q100-s2.onnx', 'substitutes.json']);
});

test('enclave-nn attack: a bad value of a new flag is one line on stderr, exit 2, nothing written', async () => {
  const out = join(dir, 'never');
  const full = join(dir, 'full');
  mkdirSync(full, { recursive: true });
  writeFileSync(join(full, 'x'), 'keep');
  const base = ['attack', join(dir, 'model.onnx'), '--data', join(dir, 'data.npy'), '--test', dir, '--out', out];
  // The error is one line (the CLI may add the usage line after it), exit 2, nothing written.
  await assertUsageErrors([
    [[...base, '--defences', 'label,top-k:0'], /--defences entry 'top-k:0' is not an output policy \(K is not an integer in 1\.\.1000\)/],
    [[...base, '--defences', 'label,shuffle'], /--defences entry 'shuffle' is not an output policy/],
    [[...base, '--defences', 'label,label'], /--defences lists a defence twice/],
    [[...base, '--seeds', '0'], /--seeds must be an integer ≥ 1, got '0'/],
    [[...base, '--min-epochs', '101'], /--min-epochs must be at most 100/],
    [[...base, '--attackers', 'generic,oracle'], /--attackers must list some of generic, architecture, own-data, pretrained, got 'generic,oracle'/],
    [[...base, '--attackers', 'own-data'], /the 'own-data' attacker needs --data-labels/],
    [[...base, '--attackers', 'pretrained'], /the 'pretrained' attacker needs --pretrained/],
    [[...base, '--data-labels', join(dir, 'test-y.npy'), '--queries', '300'], /--data-labels has 200 labels, --queries needs 300/],
    [[...base, '--save-substitutes', full], /--save-substitutes .*full: the folder exists and is not empty/],
  ] as const, out);
  assert.deepEqual(readdirSync(full), ['x'], 'a refused --save-substitutes folder is left as it was');
});
