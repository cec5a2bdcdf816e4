import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GraphView } from '../onnx/graph.ts';
import { loadModelFile } from '../onnx/codec.ts';
import { maxAbsDiff, randomFeeds, runOnnx } from '../onnx/ort.ts';
import { TEST_MODELS, seededRandom, residualModel, sharedWeightModel, twoOutputModel, mlpModel } from '../onnx/models.testkit.ts';
import type { ModelProto } from 'onnx-buf';
import { checkedSplits, listCuts } from './cuts.ts';
import { extractAt, splitModel } from './extract.ts';
import { runSplit } from './split-runner.ts';
import { isErrorCode } from '../errors.ts';

const SHARED_ONNX = new URL('../../../shared/models/onnx/', import.meta.url).pathname;

/** Every cut of `model`: head+tail through ORT equals the whole model through ORT. */
async function checkEveryCut(model: ModelProto, batches: number[], label: string, allowShared = false): Promise<number> {
  const view = new GraphView(model);
  await view.inferTypes();
  const list = listCuts(view);
  let checked = 0;
  for (const batch of batches) {
    const feeds = randomFeeds(view.inputs, batch, seededRandom(batch * 7 + 1));
    const want = await runOnnx(model, feeds);
    for (const cut of list.cuts) {
      const split = extractAt(view, cut, { allowSharedWeights: allowShared });
      const got = await runSplit(split, feeds);
      for (const name of Object.keys(want)) {
        const d = maxAbsDiff(got[name]!, want[name]!);
        assert.ok(d <= 1e-6, `${label} k=${cut.privateLayers} batch ${batch} output ${name}: max abs diff ${d}`);
      }
      checked++;
    }
  }
  return checked;
}

for (const [name, m] of Object.entries(TEST_MODELS)) {
  test(`every cut of the ${name} test model reproduces the model (batch 1 and 4)`, async () => {
    const batches = m.fixedBatch ? [m.fixedBatch] : [1, 4];
    const n = await checkEveryCut(m.build(), batches, name, name === 'shared_weight');
    assert.ok(n >= batches.length, 'at least one cut per batch');
  });
}

test('a residual block yields a cut carrying two tensors', async () => {
  const view = new GraphView(residualModel());
  const { cuts } = listCuts(view);
  const inside = cuts.find((c) => c.afterLayer === 'block_a');
  assert.ok(inside, 'cut after block_a exists');
  assert.deepEqual(new Set(inside.tensors), new Set(['s', 'a']));
});

test('Keras-style node names group into layers: Gemm + Relu are one layer', () => {
  const { layers, granularity } = listCuts(new GraphView(mlpModel()));
  assert.equal(granularity, 'layer');
  assert.deepEqual(layers.map((l) => l.name), ['dense1', 'dense2', 'dense3']);
  assert.deepEqual(layers[0]!.opTypes, ['Gemm', 'Relu']);
});

test('a weight used on both sides is refused, naming it, unless allowed', async () => {
  await assert.rejects(splitModel(sharedWeightModel(), { privateLayers: 1 }), (e) => isErrorCode(e, 'SPLIT_SHARED_WEIGHT') && /tied\/W/.test((e as Error).message));
  const r = await splitModel(sharedWeightModel(), { privateLayers: 1, allowSharedWeights: true });
  assert.deepEqual(r.sharedWeights, ['tied/W']);
});

test('head and tail keep only the initializers they use, and dynamic batch stays symbolic', async () => {
  const r = await splitModel(mlpModel(), { privateLayers: 1 });
  assert.deepEqual(r.tail.graph!.initializer.map((t) => t.name).sort(), ['dense3/bias', 'dense3/kernel']);
  assert.ok(!r.head!.graph!.initializer.some((t) => t.name.startsWith('dense3')));
  assert.deepEqual(r.cutTensors, [{ name: 'h2', dtype: 'float32', shape: ['batch', 32] }]);
  assert.equal(r.tail.opsetImport[0]!.version, 17n);
});

test('an early model output is returned by the head; the tail computes the rest', async () => {
  const r = await splitModel(twoOutputModel(), { privateLayers: 1 });
  assert.deepEqual(r.headOutputs.map((o) => o.name), ['aux_out']);
  assert.deepEqual(r.tailOutputs.map((o) => o.name), ['main_out']);
});

test('--at names a layer or a tensor; unknown names and out-of-range N list the valid ones', async () => {
  const a = await splitModel(mlpModel(), { at: 'dense2' });
  assert.equal(a.cut.privateLayers, 1);
  const b = await splitModel(mlpModel(), { at: 'h1' });
  assert.equal(b.cut.afterLayer, 'dense1');
  await assert.rejects(splitModel(mlpModel(), { at: 'nope' }), (e) => isErrorCode(e, 'SPLIT_AT') && /dense1, dense2/.test((e as Error).message));
  await assert.rejects(splitModel(mlpModel(), { privateLayers: 4 }), (e) => isErrorCode(e, 'SPLIT_RANGE') && /1\.\.3/.test((e as Error).message));
  const all = await splitModel(mlpModel(), { privateLayers: 3 });
  assert.equal(all.head, null, 'all layers private: no head');
});

const sharedModels = existsSync(SHARED_ONNX) ? readdirSync(SHARED_ONNX, { recursive: true }).map(String).filter((f) => f.endsWith('.onnx')) : [];
test('every cut of every ONNX model in ../shared/models reproduces it', { skip: sharedModels.length === 0 && 'needs ../shared/models/onnx (absent)' }, async () => {
  for (const f of sharedModels) {
    const model = loadModelFile(join(SHARED_ONNX, f));
    const view = new GraphView(model);
    const fixed = view.inputs[0]!.shape[0];
    const batches = typeof fixed === 'number' ? [fixed] : [1, 4];
    const n = await checkEveryCut(model, batches, f);
    assert.ok(n > 0, `${f}: cuts checked`);
  }
});

test('checkedSplits: every split 0..L by default; a split outside 0..L or not an integer is refused with the caller\'s code', async () => {
  const view = new GraphView(mlpModel());
  await view.inferTypes();
  const list = listCuts(view);
  const L = list.layers.length;
  assert.deepEqual(checkedSplits(list, undefined, 'X_SPLITS', 'run x'), Array.from({ length: L + 1 }, (_, i) => i));
  assert.deepEqual(checkedSplits(list, [L, 0], 'X_SPLITS', 'run x'), [L, 0]);
  for (const bad of [-1, L + 1, 1.5]) {
    assert.throws(() => checkedSplits(list, [bad], 'X_SPLITS', 'run x'), (e) => (e as { code?: string }).code === 'X_SPLITS' && (e as Error).message === `Cannot run x: split ${bad} is out of range; valid: 0..${L}`);
  }
});
