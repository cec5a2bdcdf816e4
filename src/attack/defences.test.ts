// Tests of the stronger evaluation (issue 16 item 4): substitutes as ONNX, seeds, the own-data
// baseline, answers shaped by output policies, TEESlice's normalised metric and the query cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { bundleOfSplit } from '../bundle/create.ts';
import { readBundle } from '../bundle/read.ts';
import { encodeModel } from '../onnx/codec.ts';
import { cnnModel } from '../onnx/models.testkit.ts';
import { runOnnx, type TensorData } from '../onnx/ort.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';
import { Session } from '../runtime/session.ts';
import { splitModel } from '../split/index.ts';
import { seededRandom } from '../util/seeded-prng.ts';
import { answerKind, answerTargets, stealTail } from './attacker.ts';
import { evaluateProtection, meanSd, normaliseToBlackBox, outputLabels, queryCap, rawQuery, relativeToBlackBox, type SavedSubstitute } from './evaluate.ts';
import { writeSubstitutes, type SavedSubstituteEntry } from './save-substitutes.ts';
import { architectureOf } from './skeleton.ts';
import { architectureSubstitute, genericSubstitute } from './substitute.ts';
import { gaussianInputs, linearTailModel } from './support.testkit.ts';
import { initTf } from './tf-backend.ts';
import { attackCharts } from './report.ts';
import type { AttackRow, AttackSurface, ProtectionReport, QueryFn, SplitProtection } from './types.ts';

const model = linearTailModel();
const data = gaussianInputs(1200, 8, 1);
const testX = gaussianInputs(500, 8, 2);
const victimLabels = async () => outputLabels((await runOnnx(model, { x: testX }))['probs']!);
const accuracy = (a: ArrayLike<number>, b: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) if (a[i] === b[i]) s++; return s / a.length; };

/** Runs a saved substitute (head, then tail) in onnxruntime and returns its class per row. */
async function ortLabels(dir: string, e: SavedSubstituteEntry, inputs: Record<string, TensorData>): Promise<Int32Array> {
  const cut = e.head ? await runOnnx(readFileSync(join(dir, e.head)), inputs) : inputs;
  const out = await runOnnx(readFileSync(join(dir, e.tail)), cut);
  return outputLabels(Object.values(out)[0]!);
}

test('substitutes saved as ONNX run in onnxruntime with the accuracy measured in TF.js (MLP, true architecture, own-data; conv on the CNN)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enn-subs-'));
  try {
    const labels = await victimLabels();
    const saved: SavedSubstitute[] = [];
    await evaluateProtection(model, {
      data: { x: data }, test: { inputs: { x: testX }, labels }, queries: [300], splits: [1, 2], attackers: ['generic', 'architecture', 'own-data'],
      dataLabels: outputLabels((await runOnnx(model, { x: data }))['probs']!), trainPasses: 3000, saveSubstitute: (s) => { saved.push(s); },
    });
    const cnn = cnnModel();
    const image = { dtype: 'float32' as const, dims: [400, 1, 12, 12], data: Float32Array.from({ length: 400 * 144 }, seededRandom(8)) };
    const cnnTest = { dtype: 'float32' as const, dims: [200, 1, 12, 12], data: Float32Array.from({ length: 200 * 144 }, seededRandom(9)) };
    const cnnLabels = outputLabels((await runOnnx(cnn, { image: cnnTest }))['probs']!);
    const cnnSaved: SavedSubstitute[] = [];
    await evaluateProtection(cnn, {
      data: { image }, test: { inputs: { image: cnnTest }, labels: cnnLabels }, queries: [400], splits: [5], attackers: ['generic'], trainPasses: 1200,
      saveSubstitute: (s) => { cnnSaved.push(s); },
    });
    const entries = writeSubstitutes(join(dir, 'subs'), saved);
    assert.deepEqual(entries.map((e) => `${e.k} ${e.attacker}`).sort(), ['1 architecture', '1 generic', '1 own-data', '2 architecture', '2 generic', '2 own-data']);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'subs', 'substitutes.json'), 'utf8')), entries);
    for (const e of entries) {
      const got = accuracy(await ortLabels(join(dir, 'subs'), e, { x: testX }), labels);
      assert.ok(e.substituteAccuracy > 0.5, `${e.k} ${e.attacker}: it learned something (${e.substituteAccuracy})`);
      assert.equal(got, e.substituteAccuracy, `k=${e.k} ${e.attacker}: onnxruntime ${got}, TF.js ${e.substituteAccuracy}`);
    }
    const [conv] = writeSubstitutes(join(dir, 'cnn'), cnnSaved);
    assert.equal(conv!.head, null, 'k = 5: the whole CNN is private, the cut is the image');
    assert.equal(accuracy(await ortLabels(join(dir, 'cnn'), conv!, { image: cnnTest }), cnnLabels), conv!.substituteAccuracy);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every substitute\'s ONNX computes what its TF.js forward computes (odd spatial sizes, NHWC and NCHW, scaled inputs)', async () => {
  await initTf();
  const rand = seededRandom(21);
  const cases: [TensorSpec, number[], boolean][] = [
    [{ name: 'c', dtype: 'float32', shape: ['N', 5, 5, 3] }, [6, 5, 5, 3], false], // NHWC conv, 5 → 3 → 2 (TF 'same' pools: ceil)
    [{ name: 'c', dtype: 'float32', shape: ['N', 2, 7, 7] }, [6, 2, 7, 7], false], // NCHW conv
    [{ name: 'c', dtype: 'float32', shape: ['N', 9, 4] }, [6, 9, 4], false], // conv1d
    [{ name: 'c', dtype: 'float32', shape: ['N', 6] }, [6, 6], true], // integer ids: embedding
    [{ name: 'c', dtype: 'float32', shape: ['N', 3, 4] }, [6, 3, 4], false], // rank 3 → conv1d too
    [{ name: 'c', dtype: 'float32', shape: ['N', 11] }, [6, 11], false], // MLP
  ];
  const check = async (sub: ReturnType<typeof genericSubstitute>, feeds: Record<string, TensorData>, scales: Record<string, number>) => {
    const want = tf.tidy(() => tf.softmax(sub.forward(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, tf.div(tf.tensor(t.data as Float32Array, t.dims), scales[k] ?? 1)])))).dataSync());
    const got = Object.values(await runOnnx(encodeModel(await sub.toOnnx!(scales)), feeds))[0]!.data as Float32Array;
    assert.equal(got.length, want.length, sub.description);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `${sub.description} value ${i}: onnx ${got[i]} vs tf ${want[i]}`);
  };
  for (const [spec, dims, integer] of cases) {
    const n = dims.reduce((a, b) => a * b, 1);
    const t: TensorData = { dtype: 'float32', dims, data: Float32Array.from({ length: n }, () => (integer ? Math.floor(rand() * 7) : rand() * 4 - 2)) };
    const sub = genericSubstitute([spec], 4, { integer: { c: integer }, max: { c: 6 } }, seededRandom(3));
    // Random, not initial, weights: a zero bias or a symmetric kernel would hide a transposed axis.
    for (const v of sub.variables) v.assign(tf.randomUniform(v.shape, -0.5, 0.5, 'float32', 7));
    await check(sub, { c: t }, { c: integer ? 1 : 2.5 });
    sub.dispose();
  }
  const tail = (await splitModel(cnnModel(), { privateLayers: 4 })).tail;
  const arch = architectureSubstitute(architectureOf(tail).onnx, seededRandom(4));
  const cutName = tail.graph!.input[0]!.name;
  await check(arch, { [cutName]: { dtype: 'float32', dims: [3, 4, 12, 12], data: Float32Array.from({ length: 3 * 576 }, rand) } }, { [cutName]: 3 });
  arch.dispose();
});

test('seeds reproduce: the same seeds give the same numbers; another seed gives other ones', async () => {
  const labels = await victimLabels();
  const run = (seeds: number[]) => evaluateProtection(model, { data: { x: data }, test: { inputs: { x: testX }, labels }, queries: [40], splits: [1], attackers: ['generic'], seeds, trainPasses: 800 });
  const [a, b, c] = [await run([1, 2]), await run([1, 2]), await run([3])];
  const per = (r: Awaited<ReturnType<typeof run>>) => r.splits.find((s) => s.k === 1)!.rows[0]!.perSeed!;
  assert.deepEqual(per(a), per(b));
  assert.deepEqual(per(a).map((s) => s.seed), [1, 2]);
  assert.notDeepEqual(per(a)[0]!.substituteAccuracy, per(a)[1]!.substituteAccuracy, 'two seeds, two trainings');
  assert.notEqual(per(c)[0]!.substituteAccuracy, per(a)[0]!.substituteAccuracy);
  const row = a.splits.find((s) => s.k === 1)!.rows[0]!;
  const { mean, sd } = meanSd(per(a).map((s) => s.substituteAccuracy));
  assert.equal(row.substituteAccuracy, mean);
  assert.equal(row.substituteAccuracySd, sd);
  assert.deepEqual(row.accuracyRange, [Math.min(...per(a).map((s) => s.substituteAccuracy)), Math.max(...per(a).map((s) => s.substituteAccuracy))]);
});

test('the own-data baseline trains on its own labels and never queries the enclave', async () => {
  const split = await splitModel(model, { privateLayers: 1 });
  let calls = 0;
  const surface: AttackSurface = {
    head: encodeModel(split.head!), header: { headInputs: split.inputs, inputs: split.cutTensors, outputs: split.tailOutputs },
    query: async () => { calls++; throw new Error('the own-data baseline must not query'); },
  };
  // Its labels are the victim's shifted by one class: a substitute that learned them predicts the shift,
  // one that had learned the enclave's answers would not.
  const own = outputLabels((await runOnnx(model, { x: data }))['probs']!).map((l) => (l + 1) % 4);
  const [p] = await stealTail(surface, { data: { x: data }, queries: [1000], attackers: ['own-data'], ownLabels: own, predictOn: { x: testX }, classes: 4 });
  assert.equal(calls, 0);
  const victim = await victimLabels();
  assert.ok(accuracy(p!.labels, victim.map((l) => (l + 1) % 4)) > 0.9, `own labels learned: ${accuracy(p!.labels, victim.map((l) => (l + 1) % 4))}`);
  await assert.rejects(stealTail(surface, { data: { x: data }, queries: [1000], attackers: ['own-data'], ownLabels: own.subarray(0, 10), predictOn: { x: testX } }), /own-data baseline: it needs 1000 labels/);
});

test('answers in label, top-k and rounded form: the trainer gets [N, classes] targets that say what the answer said', () => {
  const label = { out: { dtype: 'int64' as const, dims: [3], data: BigInt64Array.of(2n, 0n, 3n) } };
  assert.equal(answerKind(label), 'label');
  const l = answerTargets(label, 'prob', 4);
  assert.deepEqual(l.dims, [3, 4]);
  assert.deepEqual(Array.from(l.data as Float32Array), [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
  const topk = {
    out: { dtype: 'float32' as const, dims: [2, 2], data: Float32Array.of(0.6, 0.2, 0.9, 0.1) },
    out_classes: { dtype: 'int64' as const, dims: [2, 2], data: BigInt64Array.of(3n, 1n, 0n, 2n) },
  };
  assert.equal(answerKind(topk), 'top-k');
  const t = Array.from(answerTargets(topk, 'prob', 4).data as Float32Array);
  // Row 0: 0.6 at class 3, 0.2 at class 1, the other 0.2 spread over classes 0 and 2; row 1: nothing left.
  [0.1, 0.2, 0.1, 0.6, 0.9, 0, 0.1, 0].forEach((v, i) => assert.ok(Math.abs(t[i]! - v) < 1e-6, `top-k target ${i}: ${t[i]} ≠ ${v}`));
  assert.deepEqual(Array.from(answerTargets(topk, 'label', 4).data as Float32Array), [0, 0, 0, 1, 1, 0, 0, 0]);
  const rounded = { out: { dtype: 'float32' as const, dims: [2, 3], data: Float32Array.of(0.7, 0.2, 0.2, 0, 1, 0) } };
  assert.equal(answerKind(rounded), 'scores');
  const r = Array.from(answerTargets(rounded, 'prob').data as Float32Array);
  [0.7 / 1.1, 0.2 / 1.1, 0.2 / 1.1, 0, 1, 0].forEach((v, i) => assert.ok(Math.abs(r[i]! - v) < 1e-6, `rounded target ${i}: ${r[i]} ≠ ${v}`));
});

test('through sealed output policies: label answers are int64 [N], top-k:2 answers two [N, 2] tensors, and each trains a substitute', async () => {
  const split = await splitModel(model, { privateLayers: 1 });
  const victim = await victimLabels();
  for (const [policy, kind, shapes] of [['label', 'label', [[300]]], ['top-k:2', 'top-k', [[300, 2], [300, 2]]], ['round:1', 'scores', [[300, 4]]]] as const) {
    const { bytes, providerKey } = bundleOfSplit(split, { outputPolicy: policy });
    const bundle = readBundle(bytes);
    const session = await Session.create({ bundle, keySource: { kind: 'insecure-dev-key', providerKey } });
    try {
      const seen: Record<string, TensorData>[] = [];
      const inner = rawQuery((cut) => session.enclaveProcess!.forward(cut), bundle.header.outputs.map((o) => o.name));
      const query: QueryFn = async (cut) => { const r = await inner(cut); seen.push(r); return r; };
      const h = bundle.header;
      const [p] = await stealTail({ head: bundle.head, header: { headInputs: h.headInputs, inputs: h.inputs, outputs: h.outputs }, query }, {
        data: { x: data }, queries: [300], mode: 'prob', predictOn: { x: testX }, queryBatch: 300, classes: 4, seed: 2,
      });
      assert.equal(seen.length, 1);
      assert.equal(answerKind(seen[0]!), kind, policy);
      assert.deepEqual(Object.values(seen[0]!).map((x) => x.dims), shapes, policy);
      if (kind !== 'scores') assert.ok(Object.values(seen[0]!).some((x) => x.dtype === 'int64'), `${policy}: class indices are int64`);
      assert.deepEqual(answerTargets(seen[0]!, 'prob', 4).dims, [300, 4], `${policy}: the trainer's targets`);
      assert.ok(accuracy(p!.labels, victim) > 0.8, `${policy}: fidelity ${accuracy(p!.labels, victim)}`);
    } finally {
      await session.close();
    }
  }
});

test('TEESlice normalised metric on hand-made numbers: accuracy over the same attack on the whole model in the enclave', () => {
  assert.equal(relativeToBlackBox(0.9, 0.6), 1.5);
  assert.ok(Number.isNaN(relativeToBlackBox(0.5, 0)));
  const row = (attacker: AttackRow['attacker'], queries: number, defence: string, acc: number) => ({ attacker, queries, defence, substituteAccuracy: acc } as AttackRow);
  const splits = [
    { k: 1, rows: [row('generic', 50, 'label', 0.9), row('generic', 500, 'label', 0.95), row('generic', 50, 'prob', 0.92), row('architecture', 50, 'label', 0.8)] },
    { k: 3, rows: [row('generic', 50, 'label', 0.6), row('generic', 500, 'label', 0.76), row('generic', 50, 'prob', 0.46)] },
  ] as SplitProtection[];
  normaliseToBlackBox(splits, 3);
  const rel = splits.flatMap((s) => s.rows.map((r) => r.relativeToBlackBox));
  assert.deepEqual(rel.slice(0, 3).map((v) => Math.round(v! * 1e6) / 1e6), [1.5, 1.25, 2], 'same attacker, Q and defence on k = 3');
  assert.ok(Number.isNaN(rel[3]!), 'no architecture row on the black-box split: NaN, never a guess');
  assert.deepEqual(rel.slice(4), [1, 1, 1]);
});

test('queryCap on hand-made rows: the worst seed counts, a larger Q never lifts the cap past one that failed, the own-data baseline is ignored', () => {
  const row = (attacker: AttackRow['attacker'], queries: number, mean: number, worst: number, skipped?: string) =>
    ({ attacker, queries, substituteAccuracy: mean, accuracyRange: [mean - 0.01, worst], skipped } as AttackRow);
  const rows = [
    row('generic', 50, 0.3, 0.32), row('architecture', 50, 0.35, 0.38),
    row('generic', 500, 0.55, 0.62), row('architecture', 500, 0.5, 0.52), // the worst generic seed is over 0.6
    row('generic', 5000, 0.4, 0.45), // under again: still capped at 50
    row('own-data', 50, 0.9, 0.95), row('own-data', 500, 0.9, 0.95), // sends no query: not a reason to cap
    row('architecture', 5000, NaN, NaN, 'skipped'),
  ];
  assert.equal(queryCap(rows, [50, 500, 5000], 0.6), 50);
  assert.equal(queryCap(rows, [50, 500, 5000], 0.62), 5000);
  assert.equal(queryCap(rows, [5000, 50, 500], 0.61), 50, 'order of --queries does not matter');
  assert.equal(queryCap(rows, [50, 500, 5000], 0.3), null, 'the smallest Q already exceeds it');
  assert.equal(queryCap(rows, [0, 50], 0.35), null, 'Q = 0 is no cap');
});

test('the per-defence chart: one point per defence for each attacked split, honest accuracy and distortion beside them; none for one defence', () => {
  const d = (defence: string, stolen: number, honest: number, distortion: number) => ({ defence, stolenAccuracy: stolen, honestAccuracy: honest, honestDistortion: distortion });
  const split = (k: number, stolen: number[]) => ({ k, rows: [], victimAccuracy: 0.9, stolenAccuracy: stolen[0]!, ownDataAccuracy: 0.7, firstPrivateLayer: 'x', cut: [], defences: [d('prob', stolen[0]!, 0.9, 0), d('label', stolen[1]!, 0.9, 0.123)] });
  const report = {
    options: { queries: [50, 500], defences: ['prob', 'label'] }, classes: 4, recommendation: null,
    splits: [{ k: 0, rows: [], victimAccuracy: 0.9, stolenAccuracy: 0.9, firstPrivateLayer: null, cut: [] }, split(1, [0.85, 0.8]), split(3, [0.6, 0.55])],
  } as unknown as ProtectionReport;
  const svg = attackCharts(report)['protection-vs-cost-per-defence']!;
  assert.ok(svg, 'chart written');
  for (const want of ['stolen, k=1: 0.850', 'stolen, k=1: 0.800', 'stolen, k=3: 0.550', 'honest distortion (cost): 0.123', 'own-data baseline, k=3']) assert.ok(svg.includes(want), `${want} missing`);
  assert.equal(attackCharts({ ...report, options: { ...report.options, defences: ['label'] } })['protection-vs-cost-per-defence'], undefined);
});
