import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { createBundle } from '../bundle/create.ts';
import { readBundle } from '../bundle/read.ts';
import { decodeModel, encodeModel } from '../onnx/codec.ts';
import { runOnnx, type TensorData } from '../onnx/ort.ts';
import { cnnModel, mlpModel, randomFloats } from '../onnx/models.testkit.ts';
import { attr, makeModel, node, tensor } from '../onnx/build.ts';
import { tensorFromProto } from '../onnx/tensor-proto.ts';
import { Session } from '../runtime/session.ts';
import { splitModel } from '../split/index.ts';
import { seededRandom } from '../util/seeded-prng.ts';
import { stealTail } from './attacker.ts';
import { evaluateProtection, outputLabels, publicQuery, recommend } from './evaluate.ts';
import { architectureOf } from './skeleton.ts';
import { gaussianInputs, linearTailModel } from './support.testkit.ts';
import { initTf } from './tf-backend.ts';
import { TfGraph } from './tf-graph.ts';
import { architectureSubstitute, genericSubstitute } from './substitute.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';
import { trainSubstitute } from './train.ts';
import type { AttackSurface, QueryFn, SplitProtection } from './types.ts';

const model = linearTailModel();
const data = gaussianInputs(3000, 8, 1);
const testX = gaussianInputs(1000, 8, 2);
const testLabels = async () => outputLabels((await runOnnx(model, { x: testX }))['probs']!);

/** A deployed k = 1 split: the attacker's surface backed by a real enclave, and the closer. */
async function deployed(mode: 'label' | 'prob') {
  const split = await splitModel(model, { privateLayers: 1 });
  const { bytes, providerKey } = createBundle({
    head: encodeModel(split.head!), tail: encodeModel(split.tail), inputs: split.cutTensors, outputs: split.tailOutputs, headInputs: split.inputs,
  });
  const bundle = readBundle(bytes);
  // The provider key goes to the session (the evaluator's side), never into the surface.
  const session = await Session.create({ bundle, keySource: { kind: 'insecure-dev-key', providerKey } });
  const answered: Record<string, TensorData>[] = [];
  const inner = publicQuery((cut) => session.enclaveProcess!.forward(cut), bundle.header.outputs.map((t) => t.name), mode);
  const query: QueryFn = async (cut) => { const r = await inner(cut); answered.push(r); return r; };
  const surface: AttackSurface = { head: bundle.head, header: { headInputs: bundle.header.headInputs, inputs: bundle.header.inputs, outputs: bundle.header.outputs }, query };
  return { surface, answered, split, close: () => session.close() };
}

test('many queries on a linear tail: the generic substitute reaches fidelity ≥ 0.95; zero queries stay at chance and send nothing', async () => {
  const d = await deployed('prob');
  try {
    const preds = await stealTail(d.surface, { data: { x: data }, queries: [0, 3000], mode: 'prob', predictOn: { x: testX }, seed: 3 });
    const victim = await testLabels();
    const agree = (l: Int32Array) => l.reduce((a, v, i) => a + (v === victim[i] ? 1 : 0), 0) / l.length;
    const [zero, many] = preds;
    assert.equal(zero!.queries, 0);
    assert.ok(Math.abs(agree(zero!.labels) - 0.25) < 0.06, `Q=0 fidelity ${agree(zero!.labels)} should be ≈ 1/4`);
    assert.ok(agree(many!.labels) >= 0.95, `Q=3000 fidelity ${agree(many!.labels)} < 0.95`);
    // The queries the enclave answered: exactly the largest budget, outputs only.
    assert.equal(d.answered.reduce((a, r) => a + r['probs']!.dims[0]!, 0), 3000);
    for (const r of d.answered) assert.deepEqual(Object.keys(r), ['probs']);
  } finally {
    await d.close();
  }
});

test('zero queries only: the attacker never calls the enclave and guesses at chance', async () => {
  let calls = 0;
  const split = await splitModel(model, { privateLayers: 1 });
  const surface: AttackSurface = {
    head: encodeModel(split.head!), header: { headInputs: split.inputs, inputs: split.cutTensors, outputs: split.tailOutputs },
    query: async () => { calls++; throw new Error('must not be called'); },
  };
  const [p] = await stealTail(surface, { data: { x: data }, queries: [0], predictOn: { x: testX } });
  assert.equal(calls, 0);
  const victim = await testLabels();
  const acc = p!.labels.reduce((a, v, i) => a + (v === victim[i] ? 1 : 0), 0) / victim.length;
  assert.ok(Math.abs(acc - 0.25) < 0.06, `chance accuracy ${acc}`);
});

test('label mode: the query path returns one-hot labels of the declared outputs and nothing else', async () => {
  const d = await deployed('label');
  try {
    const cut = { h: { dtype: 'float32' as const, dims: [5, 12], data: Float32Array.from({ length: 60 }, (_, i) => (i % 7) / 7) } };
    const r = await d.surface.query(cut);
    assert.deepEqual(Object.keys(r), ['probs']);
    const t = r['probs']!;
    assert.deepEqual(t.dims, [5, 4]);
    for (let i = 0; i < 5; i++) {
      const row = Array.from(t.data as Float32Array).slice(i * 4, i * 4 + 4);
      assert.deepEqual([...row].sort(), [0, 0, 0, 1], `row ${i} is not one-hot: ${row}`);
    }
    // The surface carries the public head, header fields and the query function: nothing of the tail.
    assert.deepEqual(Object.keys(d.surface).sort(), ['head', 'header', 'query']);
    assert.deepEqual(Object.keys(d.surface.header).sort(), ['headInputs', 'inputs', 'outputs']);
    const tailWeights = d.split.tail.graph!.initializer.map((w) => Buffer.from((tensorFromProto(w) as TensorData).data.buffer).toString('hex'));
    const surfaceText = Buffer.from(d.surface.head).toString('hex') + JSON.stringify(d.surface.header);
    for (const w of tailWeights) assert.ok(!surfaceText.includes(w), 'a tail weight is visible to the attacker');
  } finally {
    await d.close();
  }
});

/** ids[N,7] → Cast → Gather (embedding 9×4) → Transpose → depthwise Conv1D k3 (group 4, pads 1) → pointwise Conv → Relu → ReduceMean → Gemm → Softmax. */
function sepConv1dModel() {
  const r = seededRandom(9);
  return makeModel({
    name: 'sepconv1d',
    inputs: [{ name: 'ids', dtype: 'float32', shape: ['N', 7] }],
    outputs: [{ name: 'p', dtype: 'float32', shape: ['N', 2] }],
    nodes: [
      node('Cast', ['ids'], ['ids_i'], { to: attr.int(7) }),
      node('Gather', ['emb', 'ids_i'], ['e'], { axis: attr.int(0) }),
      node('Transpose', ['e'], ['ec'], { perm: attr.ints([0, 2, 1]) }),
      node('Conv', ['ec', 'dw'], ['d'], { group: attr.int(4), kernel_shape: attr.ints([3]), pads: attr.ints([1, 1]) }),
      node('Conv', ['d', 'pw', 'pb'], ['c'], { kernel_shape: attr.ints([1]) }),
      node('Relu', ['c'], ['rc']),
      node('ReduceMean', ['rc'], ['m'], { axes: attr.ints([2]), keepdims: attr.int(0) }),
      node('Gemm', ['m', 'fw', 'fb'], ['l']),
      node('Softmax', ['l'], ['p'], { axis: attr.int(-1) }),
    ],
    initializers: [
      tensor('emb', 'float32', [9, 4], randomFloats(36, r)), tensor('dw', 'float32', [4, 1, 3], randomFloats(12, r)),
      tensor('pw', 'float32', [5, 4, 1], randomFloats(20, r)), tensor('pb', 'float32', [5], randomFloats(5, r)),
      tensor('fw', 'float32', [5, 2], randomFloats(10, r)), tensor('fb', 'float32', [2], randomFloats(2, r)),
    ],
  });
}

const here = dirname(fileURLToPath(import.meta.url));
const srcRoot = resolve(here, '..');

/** Every local module reachable from `file` through static and dynamic imports (within src/). */
function importGraph(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+\.ts)'/g)) {
    const target = resolve(dirname(file), m[1]!);
    if (target.startsWith(srcRoot)) importGraph(target, seen);
  }
  return seen;
}

test('the attacker cannot reach the tail: its import graph has no split, bundle, enclave, runtime or crypto module', () => {
  const reach = [...importGraph(join(here, 'attacker.ts'))].map((f) => f.slice(srcRoot.length + 1));
  assert.ok(reach.includes('attack/substitute.ts') && reach.includes('attack/tf-graph.ts'), `import scan broken: ${reach.join(', ')}`);
  for (const f of reach) assert.ok(!/^(split|bundle|enclave|runtime|crypto|license|platform)\//.test(f), `attacker.ts reaches ${f}`);
});

test('architectureOf: the worst-case attacker gets the tail graph with every learned tensor zeroed, constants kept', async () => {
  const split = await splitModel(cnnModel(), { privateLayers: 3 });
  const skeleton = decodeModel(architectureOf(split.tail).onnx);
  assert.deepEqual(skeleton.graph!.node.map((n) => n.opType), split.tail.graph!.node.map((n) => n.opType));
  const learned = skeleton.graph!.initializer.filter((t) => t.dims.reduce((a, b) => a * Number(b), 1) > 1);
  assert.ok(learned.length >= 2);
  for (const t of learned) assert.ok(Array.from((tensorFromProto(t) as TensorData).data as Float32Array).every((v) => v === 0), `${t.name} not zeroed`);
});

test('the TF.js interpreter computes what ONNX Runtime computes (CNN with NCHW conv/pool, MLP, embedding + separable conv1d)', async () => {
  await initTf();
  const cases: [ReturnType<typeof cnnModel>, Record<string, TensorData>][] = [
    [cnnModel(), { image: { dtype: 'float32', dims: [3, 1, 12, 12], data: Float32Array.from({ length: 432 }, seededRandom(5)) } }],
    [mlpModel(), { x: { dtype: 'float32', dims: [4, 16], data: Float32Array.from({ length: 64 }, seededRandom(6)) } }],
    [sepConv1dModel(), { ids: { dtype: 'float32', dims: [3, 7], data: Float32Array.from({ length: 21 }, (_, i) => (i * 5) % 9) } }],
  ];
  for (const [m, feeds] of cases) {
    const want = Object.values(await runOnnx(m, feeds))[0]!;
    const g = TfGraph.fromOnnx(encodeModel(m), seededRandom(1), { keepWeights: true });
    const got = tf.tidy(() => g.forward(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, tf.tensor(t.data as Float32Array, t.dims)]))).dataSync());
    g.dispose();
    const w = want.data as Float32Array;
    assert.equal(got.length, w.length);
    for (let i = 0; i < w.length; i++) assert.ok(Math.abs(got[i]! - w[i]!) < 1e-4, `${m.graph!.name} output ${i}: ${got[i]} vs ${w[i]}`);
  }
});

test('the architecture substitute of an embedding + separable conv1d tail trains (every op has a gradient on WASM)', async () => {
  await initTf();
  const sub = architectureSubstitute(architectureOf(sepConv1dModel()).onnx, seededRandom(2));
  const ids: TensorData = { dtype: 'float32', dims: [64, 7], data: Float32Array.from({ length: 448 }, seededRandom(3)).map((v) => Math.floor(v * 9)) };
  const y: TensorData = { dtype: 'float32', dims: [64, 2], data: Float32Array.from({ length: 128 }, (_, i) => ((i >> 1) % 2 === (i & 1) ? 1 : 0)) };
  const before = sub.variables.map((v) => v.dataSync().slice());
  const loss = await trainSubstitute(sub, { tensors: { ids }, count: 64 }, y, { count: 64, epochs: 2, seed: 1, scales: {} });
  assert.ok(Number.isFinite(loss));
  sub.variables.forEach((v, i) => assert.ok(v.dataSync().some((x, j) => x !== before[i]![j]), `variable ${v.name} did not move`));
  sub.dispose();
});

test('generic substitutes by cut shape: conv for rank 4, conv1d for rank 3, embedding for integer ids, MLP otherwise; each trains', async () => {
  await initTf();
  const rand = seededRandom(4);
  const cases: [TensorSpec, TensorData, RegExp][] = [
    [{ name: 'c', dtype: 'float32', shape: ['N', 6, 6, 3] }, { dtype: 'float32', dims: [16, 6, 6, 3], data: Float32Array.from({ length: 1728 }, rand) }, /^conv 3x3 16 .*NHWC/],
    [{ name: 'c', dtype: 'float32', shape: ['N', 3, 6, 6] }, { dtype: 'float32', dims: [16, 3, 6, 6], data: Float32Array.from({ length: 1728 }, rand) }, /NCHW/],
    [{ name: 'c', dtype: 'float32', shape: ['N', 5, 4] }, { dtype: 'float32', dims: [16, 5, 4], data: Float32Array.from({ length: 320 }, rand) }, /^conv1d/],
    [{ name: 'c', dtype: 'float32', shape: ['N', 5] }, { dtype: 'float32', dims: [16, 5], data: Float32Array.from({ length: 80 }, () => Math.floor(rand() * 9)) }, /^embedding 9x32/],
    [{ name: 'c', dtype: 'float32', shape: ['N', 5] }, { dtype: 'float32', dims: [16, 5], data: Float32Array.from({ length: 80 }, rand) }, /^mlp 5-128-3/],
  ];
  for (const [spec, t, want] of cases) {
    const max = Math.max(...Array.from(t.data as Float32Array));
    const integer = Array.from(t.data as Float32Array).every((v) => Number.isInteger(v));
    const sub = genericSubstitute([spec], 3, { integer: { c: integer }, max: { c: max } }, seededRandom(1));
    assert.match(sub.description, want);
    const y: TensorData = { dtype: 'float32', dims: [16, 3], data: Float32Array.from({ length: 48 }, (_, i) => (i % 3 === Math.floor(i / 3) % 3 ? 1 : 0)) };
    const before = sub.variables.map((v) => v.dataSync().slice());
    await trainSubstitute(sub, { tensors: { c: t }, count: 16 }, y, { count: 16, epochs: 2, seed: 1, scales: {} });
    sub.variables.forEach((v, i) => assert.ok(v.dataSync().some((x, j) => x !== before[i]![j]), `${sub.description}: a variable did not move`));
    sub.dispose();
  }
});

test('recommend: the fewest private layers under the target; none when no split is under it', () => {
  const s = (k: number, stolen: number) => ({ k, stolenAccuracy: stolen } as SplitProtection);
  const splits = [s(0, 0.99), s(1, 0.97), s(2, 0.6), s(3, 0.3), s(4, NaN)];
  assert.equal(recommend(splits, 0.7).k, 2);
  assert.equal(recommend(splits, 0.2).k, null);
});

test('evaluateProtection scores against the test set\'s own labels: victim and k = 0 at their known accuracy, fidelity apart from accuracy', async () => {
  // Labels independent of the victim: its own answers with every 5th row moved to another class,
  // so the victim is right on exactly 800 of 1000 rows — a figure known without the code under test.
  const victim = await testLabels();
  const labels = victim.map((l, i) => (i % 5 === 0 ? (l + 1) % 4 : l));
  const r = await evaluateProtection(model, { data: { x: data }, test: { inputs: { x: testX }, labels }, queries: [0, 200], attackers: ['generic', 'architecture'], trainPasses: 4000, maxStolenAccuracy: 0.5 });
  assert.deepEqual(r.splits.map((x) => x.k), [0, 1, 2]);
  assert.equal(r.splits[0]!.victimAccuracy, 0.8);
  assert.equal(r.splits[0]!.stolenAccuracy, 0.8, 'k = 0: the whole model is public, stolen = the victim itself');
  for (const sp of r.splits.slice(1)) {
    assert.equal(sp.victimAccuracy, 0.8);
    assert.equal(sp.rows.length, 4);
    for (const row of sp.rows) {
      assert.ok(!row.skipped, row.skipped);
      assert.ok(Math.abs(row.ratio - row.substituteAccuracy / 0.8) < 1e-12, `ratio ${row.ratio} is accuracy over the victim's 0.8`);
      // The moved rows (every 5th) are unrelated to what a substitute learned, so it agrees with
      // the victim there as often as elsewhere (fidelity f) — and is then wrong. It is right on
      // the other 4/5 when it agrees, and on a moved row only by picking the moved class:
      // accuracy ≈ 0.8·f, plus at most 0.2·(1 − f). Scored against the victim it would be f.
      const at = `${row.attacker} Q=${row.queries}: accuracy ${row.substituteAccuracy}, fidelity ${row.fidelity}`;
      assert.ok(row.substituteAccuracy >= 0.8 * row.fidelity - 0.02, at);
      assert.ok(row.substituteAccuracy <= 0.8 * row.fidelity + 0.2 * (1 - row.fidelity) + 0.02, at);
    }
    const best = sp.rows.filter((x) => x.queries === 200);
    assert.ok(best.some((x) => x.fidelity > 0.6), `Q=200 should already steal a lot: ${best.map((x) => x.fidelity).join(', ')}`);
    assert.equal(sp.stolenAccuracy, Math.max(...best.map((x) => x.substituteAccuracy)), 'stolen = the best attacker at the largest budget');
  }
  assert.equal(r.recommendation!.k, null);
});
