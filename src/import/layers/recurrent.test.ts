import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { randomFloats, seededRandom } from '../../onnx/models.testkit.ts';
import { isErrorCode } from '../../errors.ts';
import { recurrentConverters } from './recurrent.ts';
import { gatesToRows, reorderGates, GATE_ORDER } from './recurrent-weights.ts';
import { timeDistributedInner } from './recurrent-time-distributed.ts';
import { expectImportMatches, randomizeWeights, relativeError } from '../support.testkit.ts';
import { runOnnx, maxAbsDiff, type TensorData } from '../../onnx/ort.ts';
import { GraphView } from '../../onnx/graph.ts';
import { listCuts } from '../../split/cuts.ts';
import { groupLayers } from '../../split/layers.ts';
import { extractAt } from '../../split/extract.ts';
import { runSplit } from '../../split/split-runner.ts';
import { convertOne, runOne, tfjsLayer, type LayerUnderTest } from './recurrent.testkit.ts';
import type { MaskedTensor } from './recurrent-mask.ts';
import { converters } from '../registry.ts';
import { GraphBuilder } from '../context.ts';
import { makeModel } from '../../onnx/build.ts';

await tf.setBackend('cpu');

const TOLERANCE = 1e-3;
const BATCH = 3;

/**
 * Builds a TF.js model of `layer` over inputs [batch, T, …step] (T null = any length, run with
 * `runT` steps), gives it seeded random weights, saves it in the TF.js format, imports it and
 * compares ORT with TF.js predict on fresh random inputs (expectImportMatches). Also checks that
 * the ONNX outputs declare the Keras output shapes. Returns the largest relative error.
 */
async function expectMatches(layer: tf.layers.Layer, opts: { T: number | null; F?: number; step?: number[]; seed: number; runT?: number }): Promise<number> {
  const input = tf.input({ shape: [opts.T, ...(opts.step ?? [opts.F!])] as number[] });
  const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor | tf.SymbolicTensor[] });
  randomizeWeights(model, opts.seed);
  const { onnx, maxRelError } = await expectImportMatches(model, { tolerance: TOLERANCE, batch: BATCH, dynamicDim: opts.runT ?? 6, seed: opts.seed + 1000, label: layer.name });
  model.outputs.forEach((o, i) => {
    const declared = onnx.graph!.output[i]!.type!.value.value as { shape?: { dim: { value: { case?: string; value?: unknown } }[] } };
    const dims = declared.shape!.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : null));
    assert.deepEqual(dims.slice(1), o.shape.slice(1), `${layer.name}: declared output shape`);
  });
  return maxRelError;
}

/** Runs cases in order and reports the largest relative error as a test diagnostic. */
async function cases(t: TestContext, ...runs: (() => Promise<number>)[]): Promise<void> {
  let worst = 0;
  for (const run of runs) worst = Math.max(worst, await run());
  t.diagnostic(`max relative error ${worst.toExponential(2)} over ${runs.length} configurations`);
}

test('gate layout: LSTM kernel columns i f c o become ONNX rows i o f c, transposed', () => {
  // kernel [I=2, 4·H=4] with H=1: column g holds gate g; entry = 10·row + gate.
  const k = Float32Array.from([0, 1, 2, 3, 10, 11, 12, 13]);
  assert.deepEqual([...gatesToRows(k, 2, 1, GATE_ORDER.LSTM)], [0, 10, 3, 13, 1, 11, 2, 12]);
  assert.deepEqual([...reorderGates(Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]), 2, GATE_ORDER.LSTM)], [0, 0, 3, 3, 1, 1, 2, 2]);
});

const lstm = (units: number, o: Partial<Parameters<typeof tf.layers.lstm>[0]> = {}) => tf.layers.lstm({ units, recurrentActivation: 'sigmoid', ...o });
const gru = (units: number, o: Partial<Parameters<typeof tf.layers.gru>[0]> = {}) => tf.layers.gru({ units, recurrentActivation: 'sigmoid', ...o });
const rnn = (units: number, o: Partial<Parameters<typeof tf.layers.simpleRNN>[0]> = {}) => tf.layers.simpleRNN({ units, ...o });

test('LSTM matches TF.js: sequences on/off, go_backwards, activations, bias, unknown length', async (t) => {
  await cases(t,
    () => expectMatches(lstm(4, {}), { T: 5, F: 3, seed: 1 }),
    () => expectMatches(lstm(4, { returnSequences: true }), { T: 5, F: 3, seed: 2 }),
    () => expectMatches(lstm(3, { goBackwards: true }), { T: 5, F: 2, seed: 3 }),
    () => expectMatches(lstm(3, { goBackwards: true, returnSequences: true }), { T: 5, F: 2, seed: 4 }),
    () => expectMatches(lstm(5, { recurrentActivation: 'hardSigmoid', returnSequences: true }), { T: 4, F: 3, seed: 5 }),
    () => expectMatches(lstm(4, { activation: 'relu', useBias: false }), { T: 6, F: 3, seed: 6 }),
    () => expectMatches(lstm(4, { activation: 'linear', recurrentActivation: 'hardSigmoid', returnSequences: true }), { T: null, F: 3, seed: 7, runT: 7 }),
  );
});

test('GRU (reset_after=false) matches TF.js: sequences on/off, go_backwards, activations, bias', async (t) => {
  await cases(t,
    () => expectMatches(gru(4, {}), { T: 5, F: 3, seed: 11 }),
    () => expectMatches(gru(4, { returnSequences: true }), { T: 5, F: 3, seed: 12 }),
    () => expectMatches(gru(3, { goBackwards: true, returnSequences: true }), { T: 5, F: 2, seed: 13 }),
    () => expectMatches(gru(3, { goBackwards: true }), { T: 5, F: 2, seed: 14 }),
    () => expectMatches(gru(4, { activation: 'relu', recurrentActivation: 'hardSigmoid', useBias: false, returnSequences: true }), { T: null, F: 3, seed: 15 }),
    () => expectMatches(gru(2, { activation: 'linear' }), { T: 6, F: 4, seed: 16 }),
  );
});

test('SimpleRNN matches TF.js: tanh, relu, linear, sequences, go_backwards, no bias', async (t) => {
  await cases(t,
    () => expectMatches(rnn(4, {}), { T: 5, F: 3, seed: 21 }),
    () => expectMatches(rnn(4, { returnSequences: true }), { T: 5, F: 3, seed: 22 }),
    () => expectMatches(rnn(3, { activation: 'relu', goBackwards: true, returnSequences: true }), { T: 5, F: 2, seed: 23 }),
    () => expectMatches(rnn(3, { activation: 'linear', goBackwards: true, useBias: false }), { T: null, F: 2, seed: 24, runT: 4 }),
  );
});

const bi = (layer: tf.layers.Layer, mergeMode: 'concat' | 'sum' | 'mul' | 'ave' | null) =>
  tf.layers.bidirectional({ layer: layer as tf.RNN, mergeMode: mergeMode as 'concat' });

test('Bidirectional matches TF.js: each merge mode, each cell, sequences on/off', async (t) => {
  await cases(t,
    () => expectMatches(bi(lstm(3, { returnSequences: true }), 'concat'), { T: 5, F: 2, seed: 31 }),
    () => expectMatches(bi(lstm(3), 'concat'), { T: 5, F: 2, seed: 32 }),
    () => expectMatches(bi(gru(4, { returnSequences: true }), 'sum'), { T: 4, F: 3, seed: 33 }),
    () => expectMatches(bi(gru(4), 'ave'), { T: 4, F: 3, seed: 34 }),
    () => expectMatches(bi(rnn(3, { returnSequences: true }), 'mul'), { T: 5, F: 2, seed: 35 }),
    () => expectMatches(bi(lstm(2, { returnSequences: true, recurrentActivation: 'hardSigmoid' }), 'ave'), { T: 5, F: 2, seed: 36 }),
    () => expectMatches(bi(rnn(2, { activation: 'relu' }), 'mul'), { T: 5, F: 2, seed: 37 }),
  );
});

test('Bidirectional over a go_backwards layer and with merge_mode null (two outputs) matches TF.js', async (t) => {
  await cases(t,
    () => expectMatches(bi(lstm(3, { returnSequences: true, goBackwards: true }), 'concat'), { T: 5, F: 2, seed: 41 }),
    () => expectMatches(bi(gru(3, { goBackwards: true }), 'sum'), { T: 5, F: 2, seed: 42 }),
    () => expectMatches(bi(lstm(3, { returnSequences: true }), null), { T: 5, F: 2, seed: 43 }),
    () => expectMatches(bi(rnn(3), null), { T: 5, F: 2, seed: 44 }),
  );
});

/**
 * Keras's GRU cell written out (tanh / sigmoid), for `reset_after=true`, which TF.js cannot build.
 * Checked against TF.js with `reset_after=false` below, so the reference itself is tested.
 */
function kerasGru(x: Float32Array, [B, T, F]: number[], H: number, w: LayerUnderTest['weights'], o: { resetAfter: boolean; goBackwards?: boolean; returnSequences?: boolean }): Float32Array {
  const [kernel, rec, bias] = w.map((t) => t.data) as [Float32Array, Float32Array, Float32Array];
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const out = new Float32Array(B * (o.returnSequences ? T : 1) * H);
  for (let b = 0; b < B; b++) {
    let h = new Float32Array(H);
    for (let k = 0; k < T; k++) {
      const t = o.goBackwards ? T - 1 - k : k;
      const xw = new Float32Array(3 * H);
      const hr = new Float32Array(3 * H);
      for (let j = 0; j < 3 * H; j++) {
        let s = bias[j]!;
        for (let f = 0; f < F; f++) s += x[(b * T + t) * F + f]! * kernel[f * 3 * H + j]!;
        xw[j] = s;
        let r = o.resetAfter ? bias[3 * H + j]! : 0;
        for (let i = 0; i < H; i++) r += h[i]! * rec[i * 3 * H + j]!;
        hr[j] = r;
      }
      const next = new Float32Array(H);
      const r = Array.from({ length: H }, (_, u) => sig(xw[H + u]! + hr[H + u]!));
      for (let u = 0; u < H; u++) {
        const z = sig(xw[u]! + hr[u]!);
        let rh: number;
        if (o.resetAfter) rh = r[u]! * hr[2 * H + u]!;
        else { rh = 0; for (let i = 0; i < H; i++) rh += r[i]! * h[i]! * rec[i * 3 * H + 2 * H + u]!; }
        next[u] = z * h[u]! + (1 - z) * Math.tanh(xw[2 * H + u]! + rh);
      }
      h = next;
      if (o.returnSequences) out.set(h, (b * T + k) * H);
    }
    if (!o.returnSequences) out.set(h, b * H);
  }
  return out;
}

/** Relative error between two flat float arrays (see relativeError in ../support.testkit.ts). */
const rel = (got: TensorData['data'], want: Float32Array) => relativeError({ dtype: 'float32', dims: [got.length], data: got }, { dims: [want.length], data: want });

test('GRU reset_after=true (tf.keras 2 default) matches the Keras cell formula; the formula matches TF.js', async () => {
  const [B, T, F, H] = [BATCH, 5, 3, 4];
  for (const [seed, goBackwards, returnSequences] of [[51, false, true], [52, true, false], [53, true, true]] as const) {
    const { model, layer: l } = tfjsLayer(gru(H, { goBackwards, returnSequences }), [T, F], seed);
    const x = randomFloats(B * T * F, seededRandom(seed + 1000), 1);
    const tfOut = tf.tidy(() => (model.predict(tf.tensor(x, [B, T, F])) as tf.Tensor).dataSync() as Float32Array);
    assert.ok(rel(kerasGru(x, [B, T, F], H, l.weights, { resetAfter: false, goBackwards, returnSequences }), tfOut) <= 1e-5, 'reference GRU vs TF.js');

    const rand = seededRandom(seed + 7);
    const after: LayerUnderTest = {
      ...l, config: { ...l.config, reset_after: true },
      weights: [l.weights[0]!, l.weights[1]!, { name: `${l.name}/bias`, shape: [2, 3 * H], data: randomFloats(6 * H, rand, 0.6) }],
    };
    const ref = kerasGru(x, [B, T, F], H, after.weights, { resetAfter: true, goBackwards, returnSequences });
    const [y] = await runOne(convertOne(recurrentConverters.GRU!, after, [null, T, F]).model, x, [B, T, F]);
    const err = rel(y!.data, ref);
    assert.ok(err <= TOLERANCE, `GRU reset_after seed ${seed}: relative error ${err}`);
    // The same weights read as reset_after=false give a different function: the flag is honoured.
    assert.ok(rel(kerasGru(x, [B, T, F], H, after.weights, { resetAfter: false, goBackwards, returnSequences }), ref) > 1e-3);
  }
});

test('refusals name the layer and the setting', () => {
  const { layer: l } = tfjsLayer(lstm(2), [4, 3], 61);
  const convert = (config: Record<string, unknown>) => convertOne(recurrentConverters.LSTM!, { ...l, config: { ...l.config, ...config } }, [null, 4, 3]);
  assert.throws(() => convert({ return_state: true }), (e) => isErrorCode(e, 'IMPORT_CONFIG') && /lstm_LSTM\d+.*return_state/.test((e as Error).message));
  assert.throws(() => convert({ stateful: true }), (e) => isErrorCode(e, 'IMPORT_CONFIG') && /stateful/.test((e as Error).message));
  assert.throws(() => convert({ activation: 'selu' }), (e) => isErrorCode(e, 'IMPORT_CONFIG') && /activation 'selu'/.test((e as Error).message));
  assert.throws(() => convertOne(recurrentConverters.LSTM!, { ...l, weights: l.weights.slice(0, 2) }, [null, 4, 3]), (e) => isErrorCode(e, 'IMPORT_CONFIG') && /expected 3 weights/.test((e as Error).message));
});

const td = (layer: tf.layers.Layer) => tf.layers.timeDistributed({ layer });

test('TimeDistributed(Dense) matches TF.js: activations, unknown length, per-step rank 2', async (t) => {
  await cases(t,
    () => expectMatches(td(tf.layers.dense({ units: 5, activation: 'relu' })), { T: 4, F: 3, seed: 71 }),
    () => expectMatches(td(tf.layers.dense({ units: 4, activation: 'softmax' })), { T: null, F: 3, seed: 72, runT: 5 }),
    () => expectMatches(td(tf.layers.dense({ units: 2, useBias: false })), { T: 3, step: [2, 3], seed: 73 }),
  );
});

test('TimeDistributed folds time into the batch for other layers (Flatten), known and unknown length', async (t) => {
  await cases(t,
    () => expectMatches(td(tf.layers.flatten()), { T: 4, step: [2, 3], seed: 81 }),
    () => expectMatches(td(tf.layers.flatten()), { T: null, step: [3, 2], seed: 82, runT: 3 }),
  );
});

test('TimeDistributed(Conv2D) matches TF.js', async (t) => {
  assert.ok(timeDistributedInner('Conv2D'), 'TimeDistributed finds the Conv2D converter');
  await cases(t,
    () => expectMatches(td(tf.layers.conv2d({ filters: 3, kernelSize: 2, activation: 'relu' })), { T: 3, step: [5, 5, 2], seed: 91 }),
  );
});

test('TimeDistributed refuses layers it cannot wrap, naming them', () => {
  const { layer: l } = tfjsLayer(td(tf.layers.dense({ units: 2 })), [4, 3], 95);
  const wrap = (class_name: string) => ({ ...l, config: { ...l.config, layer: { class_name, config: {} } } });
  assert.throws(() => convertOne(recurrentConverters.TimeDistributed!, wrap('LSTM'), [null, 4, 3]), (e) => isErrorCode(e, 'IMPORT_CONFIG') && /wrapping LSTM is not supported \(supported: .*Dense/.test((e as Error).message));
  assert.throws(() => convertOne(recurrentConverters.TimeDistributed!, wrap('Embedding'), [null, 4, 3]), (e) => isErrorCode(e, 'IMPORT_CONFIG') && /wrapping Embedding/.test((e as Error).message));
});

test('Bidirectional(GRU reset_after=true) matches the Keras cell formula run both ways', async (t) => {
  const [B, T, F, H] = [BATCH, 4, 3, 3];
  const { layer: l } = tfjsLayer(bi(gru(H, { returnSequences: true }), 'concat'), [T, F], 55);
  const rand = seededRandom(56);
  const withBias = (ws: LayerUnderTest['weights'], dir: string) => [ws[0]!, ws[1]!, { name: `${l.name}/${dir}_gru/bias`, shape: [2, 3 * H], data: randomFloats(6 * H, rand, 0.6) }];
  const weights = [...withBias(l.weights.slice(0, 3), 'forward'), ...withBias(l.weights.slice(3), 'backward')];
  const inner = l.config.layer as { class_name: string; config: Record<string, unknown> };
  const after: LayerUnderTest = { ...l, config: { ...l.config, layer: { ...inner, config: { ...inner.config, reset_after: true } } }, weights };
  const x = randomFloats(B * T * F, seededRandom(57), 1);
  const fwd = kerasGru(x, [B, T, F], H, weights.slice(0, 3), { resetAfter: true, returnSequences: true });
  const bwd = kerasGru(x, [B, T, F], H, weights.slice(3), { resetAfter: true, returnSequences: true, goBackwards: true });
  const ref = new Float32Array(B * T * 2 * H);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < T; k++) {
      ref.set(fwd.subarray((b * T + k) * H, (b * T + k + 1) * H), (b * T + k) * 2 * H);
      // Keras flips the backward layer's sequence back to input time order.
      ref.set(bwd.subarray((b * T + (T - 1 - k)) * H, (b * T + (T - k)) * H), (b * T + k) * 2 * H + H);
    }
  }
  const [y] = await runOne(convertOne(recurrentConverters.Bidirectional!, after, [null, T, F]).model, x, [B, T, F]);
  const err = rel(y!.data, ref);
  assert.ok(err <= TOLERANCE, `relative error ${err}`);
  t.diagnostic(`max relative error ${err.toExponential(2)}`);
});

test('hard_sigmoid follows the Keras that wrote the model: 0.2·x + 0.5 (Keras 2, TF.js), x/6 + 0.5 (Keras 3)', () => {
  const { layer: l } = tfjsLayer(lstm(2, { recurrentActivation: 'hardSigmoid' }), [4, 3], 65);
  const alphas = (kerasMajor: 2 | 3) => {
    const lstmNode = convertOne(recurrentConverters.LSTM!, l, [null, 4, 3], { kerasMajor, tfjs: false }).nodes.find((n) => n.opType === 'LSTM')!;
    const a = lstmNode.attribute.find((x) => x.name === 'activation_alpha')!;
    assert.deepEqual(lstmNode.attribute.find((x) => x.name === 'activations')!.strings.map((s) => new TextDecoder().decode(s)), ['HardSigmoid', 'Tanh', 'Tanh']);
    assert.equal(a.floats.length, 1);
    return a.floats[0]!;
  };
  assert.ok(Math.abs(alphas(2) - 0.2) < 1e-7);
  assert.ok(Math.abs(alphas(3) - 1 / 6) < 1e-7);
});

test('a text model (Embedding → Bidirectional LSTM → GRU go_backwards → Dense) imports and matches TF.js', async (t) => {
  const model = tf.sequential({
    layers: [
      tf.layers.embedding({ inputDim: 50, outputDim: 8, inputLength: 7 }),
      tf.layers.bidirectional({ layer: lstm(6, { returnSequences: true }) as tf.RNN, mergeMode: 'concat' }),
      gru(5, { goBackwards: true }),
      tf.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
  randomizeWeights(model, 99);
  const { onnx, maxRelError } = await expectImportMatches(model, { tolerance: TOLERANCE, integerInputs: 50, batch: 4 });
  const layers = new Set(onnx.graph!.node.map((n) => n.name.slice(0, n.name.lastIndexOf('/'))));
  assert.deepEqual([...layers], model.layers.map((l) => l.name), 'every node is named after its Keras layer');
  t.diagnostic(`max relative error ${maxRelError.toExponential(2)}`);
});

test('every cut of an imported recurrent model (unknown length) reproduces it, at Keras layer names', async (t) => {
  const input = tf.input({ shape: [null, 3] });
  let h = lstm(4, { returnSequences: true, goBackwards: true }).apply(input) as tf.SymbolicTensor;
  h = td(tf.layers.dense({ units: 5, activation: 'tanh' })).apply(h) as tf.SymbolicTensor;
  h = bi(gru(3), 'ave').apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(h) as tf.SymbolicTensor });
  randomizeWeights(model, 101);
  const { onnx } = await expectImportMatches(model, { tolerance: TOLERANCE, dynamicDim: 6 });
  const view = new GraphView(onnx);
  await view.inferTypes();
  const list = listCuts(view);
  assert.deepEqual(groupLayers(view).layers.map((l) => l.name), model.layers.slice(1).map((l) => l.name));
  assert.deepEqual(list.cuts.map((c) => c.privateLayers), [1, 2, 3, 4]);
  const x = onnx.graph!.input[0]!.name;
  const feeds = { [x]: { dtype: 'float32' as const, dims: [2, 6, 3], data: randomFloats(36, seededRandom(102), 1) } };
  const want = await runOnnx(onnx, feeds);
  let worst = 0;
  for (const cut of list.cuts) {
    const got = await runSplit(extractAt(view, cut), feeds);
    for (const name of Object.keys(want)) worst = Math.max(worst, maxAbsDiff(got[name]!, want[name]!));
  }
  assert.ok(worst <= 1e-6, `max abs diff ${worst}`);
  t.diagnostic(`${list.cuts.length} cuts, max abs diff ${worst}`);
});

test('a generic RNN over one cell (LSTMCell, GRUCell, SimpleRNNCell) matches TF.js, alone and in Bidirectional', async (t) => {
  await cases(t,
    () => expectMatches(tf.layers.rnn({ cell: tf.layers.lstmCell({ units: 3, recurrentActivation: 'sigmoid' }), returnSequences: true }), { T: 5, F: 2, seed: 111 }),
    () => expectMatches(tf.layers.rnn({ cell: tf.layers.gruCell({ units: 3 }), goBackwards: true }), { T: 5, F: 2, seed: 112 }),
    () => expectMatches(tf.layers.rnn({ cell: tf.layers.simpleRNNCell({ units: 3, activation: 'relu' }), returnSequences: true, goBackwards: true }), { T: 5, F: 2, seed: 113 }),
  );
  // TF.js cannot build Bidirectional(RNN(cell)) (it fails to clone the cell), so the same layer
  // is described both ways and must convert to the same function.
  const { layer: l2 } = tfjsLayer(bi(lstm(2, { returnSequences: true }), 'concat'), [4, 3], 114);
  const inner = l2.config.layer as { config: Record<string, unknown> };
  const { return_sequences, go_backwards, ...cellConfig } = inner.config;
  const generic = { ...l2, config: { ...l2.config, layer: { class_name: 'RNN', config: { cell: { class_name: 'LSTMCell', config: cellConfig }, return_sequences, go_backwards } } } };
  const x = randomFloats(BATCH * 12, seededRandom(116), 1);
  const [a] = await runOne(convertOne(recurrentConverters.Bidirectional!, l2, [null, 4, 3]).model, x, [BATCH, 4, 3]);
  const [b] = await runOne(convertOne(recurrentConverters.Bidirectional!, generic, [null, 4, 3]).model, x, [BATCH, 4, 3]);
  assert.deepEqual(b!.data, a!.data);
  const stacked = tf.layers.rnn({ cell: [tf.layers.lstmCell({ units: 2 }), tf.layers.lstmCell({ units: 2 })] });
  const { layer: l } = tfjsLayer(stacked, [4, 3], 115);
  assert.throws(() => convertOne(recurrentConverters.RNN!, l, [null, 4, 3]), (e) => isErrorCode(e, 'IMPORT_CONFIG') && /stacked cells/.test((e as Error).message));
});

/**
 * Embedding(mask_zero) → `layers` in TF.js; in ONNX the Embedding's converter, a mask
 * `ids ≠ 0` put on its output (what the importer's Embedding is to do), then each layer's
 * converter, passing masks on. Compared with TF.js on token rows padded before, after, in the
 * middle, fully, and not at all.
 */
async function expectMaskedMatches(layers: tf.layers.Layer[], seed: number): Promise<number> {
  const ids = [[0, 0, 3, 4, 5, 6], [1, 2, 3, 0, 0, 0], [0, 7, 0, 8, 9, 0], [0, 0, 0, 0, 0, 0], [5, 6, 7, 8, 9, 10]];
  const [B, T] = [ids.length, ids[0]!.length];
  const model = tf.sequential({ layers: [tf.layers.embedding({ inputDim: 12, outputDim: 3, inputLength: T, maskZero: true }), ...layers] });
  randomizeWeights(model, seed);
  const json = model.toJSON(null, false) as unknown as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
  const g = new GraphBuilder({ kerasMajor: 2, tfjs: true });
  let cur: MaskedTensor = { name: 'x', shape: [null, T], dtype: 'float32' };
  model.layers.forEach((layer, i) => {
    const entry = json.config.layers[i]!;
    const ctx = g.context({ className: entry.class_name, name: layer.name, config: entry.config });
    const weights = layer.weights.map((w) => ({ name: w.originalName, shape: w.shape as number[], data: w.read().dataSync() as Float32Array }));
    const [out] = converters[entry.class_name]!([cur], weights, ctx) as MaskedTensor[];
    const mask = i === 0 ? ctx.node('Not', [ctx.node('Equal', ['x', ctx.float('zero', [0], [])], {}, { name: 'mask_equal' })[0]!], {}, { name: 'mask' })[0] : out!.mask;
    cur = { ...out!, mask };
  });
  const onnx = makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', T] }],
    outputs: [{ name: cur.name, dtype: 'float32', shape: cur.shape.map((d, i) => d ?? `y_d${i}`) }],
    nodes: g.nodes, initializers: g.initializers, opset: 17,
  });
  const x = Float32Array.from(ids.flat());
  const got = (await runOnnx(onnx, { x: { dtype: 'float32', dims: [B, T], data: x } }))[cur.name]!;
  const want = tf.tidy(() => (model.predict(tf.tensor(x, [B, T])) as tf.Tensor));
  const err = relativeError(got, { dims: want.shape, data: want.dataSync() });
  want.dispose();
  assert.ok(err <= TOLERANCE, `${model.layers.slice(1).map((l) => l.name).join(' → ')}: relative error ${err} > ${TOLERANCE}`);
  return err;
}

test('masked sequences (Embedding mask_zero) match TF.js: each cell, go_backwards, Bidirectional, stacked', async (t) => {
  await cases(t,
    () => expectMaskedMatches([lstm(4)], 121),
    () => expectMaskedMatches([lstm(4, { returnSequences: true })], 122),
    () => expectMaskedMatches([gru(3, { goBackwards: true, returnSequences: true })], 123),
    () => expectMaskedMatches([gru(3, { goBackwards: true })], 124),
    () => expectMaskedMatches([rnn(3, { activation: 'relu', returnSequences: true })], 125),
    () => expectMaskedMatches([bi(lstm(3, { returnSequences: true }), 'concat')], 126),
    () => expectMaskedMatches([bi(gru(3), 'sum')], 127),
    () => expectMaskedMatches([bi(lstm(2, { returnSequences: true, goBackwards: true }), 'ave')], 128),
    () => expectMaskedMatches([lstm(4, { returnSequences: true }), gru(3)], 129),
  );
});
