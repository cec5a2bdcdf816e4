import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { randomFloats, seededRandom } from '../../onnx/test-models.ts';
import { isErrorCode } from '../../errors.ts';
import { recurrentConverters } from './recurrent.ts';
import { gatesToRows, reorderGates, GATE_ORDER } from './recurrent-weights.ts';
import { convertOne, relativeError, runOne, tfjsLayer, type LayerUnderTest } from './recurrent-testing.ts';

await tf.setBackend('cpu');

const TOLERANCE = 1e-3;
const BATCH = 3;

/**
 * Builds `layer` in TF.js over inputs [batch, T, F] (T null = any length, run with `runT` steps),
 * imports it with its converter and compares ORT with TF.js predict on fresh random inputs.
 */
async function expectMatches(layer: tf.layers.Layer, opts: { T: number | null; F: number; seed: number; runT?: number; note?: string }): Promise<LayerUnderTest> {
  const { model, layer: l } = tfjsLayer(layer, [opts.T, opts.F], opts.seed);
  const T = opts.T ?? opts.runT ?? 6;
  const { model: onnx, outputs } = convertOne(recurrentConverters[l.className]!, l, [null, opts.T, opts.F]);
  const x = randomFloats(BATCH * T * opts.F, seededRandom(opts.seed + 1000), 1);
  const ys = await runOne(onnx, x, [BATCH, T, opts.F]);
  const refs = tf.tidy(() => {
    const p = model.predict(tf.tensor(x, [BATCH, T, opts.F]));
    return (Array.isArray(p) ? p : [p]).map((t) => ({ dims: t.shape, data: t.dataSync() as Float32Array }));
  });
  assert.equal(ys.length, refs.length, `${l.name}: output count`);
  refs.forEach((ref, i) => {
    assert.deepEqual(ys[i]!.dims, ref.dims, `${l.name}: output ${i} dims`);
    assert.deepEqual(outputs[i]!.shape.slice(1).map((d) => d ?? T), ref.dims.slice(1), `${l.name}: declared Keras shape`);
    const err = relativeError(ys[i]!.data as Float32Array, ref.data);
    assert.ok(err <= TOLERANCE, `${l.name} ${opts.note ?? ''}: relative error ${err} > ${TOLERANCE}`);
  });
  return l;
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

test('LSTM matches TF.js: sequences on/off, go_backwards, activations, bias, unknown length', async () => {
  await expectMatches(lstm(4, {}), { T: 5, F: 3, seed: 1 });
  await expectMatches(lstm(4, { returnSequences: true }), { T: 5, F: 3, seed: 2 });
  await expectMatches(lstm(3, { goBackwards: true }), { T: 5, F: 2, seed: 3 });
  await expectMatches(lstm(3, { goBackwards: true, returnSequences: true }), { T: 5, F: 2, seed: 4 });
  await expectMatches(lstm(5, { recurrentActivation: 'hardSigmoid', returnSequences: true }), { T: 4, F: 3, seed: 5 });
  await expectMatches(lstm(4, { activation: 'relu', useBias: false }), { T: 6, F: 3, seed: 6 });
  await expectMatches(lstm(4, { activation: 'linear', recurrentActivation: 'hardSigmoid', returnSequences: true }), { T: null, F: 3, seed: 7, runT: 7 });
});

test('GRU (reset_after=false) matches TF.js: sequences on/off, go_backwards, activations, bias', async () => {
  await expectMatches(gru(4, {}), { T: 5, F: 3, seed: 11 });
  await expectMatches(gru(4, { returnSequences: true }), { T: 5, F: 3, seed: 12 });
  await expectMatches(gru(3, { goBackwards: true, returnSequences: true }), { T: 5, F: 2, seed: 13 });
  await expectMatches(gru(3, { goBackwards: true }), { T: 5, F: 2, seed: 14 });
  await expectMatches(gru(4, { activation: 'relu', recurrentActivation: 'hardSigmoid', useBias: false, returnSequences: true }), { T: null, F: 3, seed: 15 });
  await expectMatches(gru(2, { activation: 'linear' }), { T: 6, F: 4, seed: 16 });
});

test('SimpleRNN matches TF.js: tanh, relu, linear, sequences, go_backwards, no bias', async () => {
  await expectMatches(rnn(4, {}), { T: 5, F: 3, seed: 21 });
  await expectMatches(rnn(4, { returnSequences: true }), { T: 5, F: 3, seed: 22 });
  await expectMatches(rnn(3, { activation: 'relu', goBackwards: true, returnSequences: true }), { T: 5, F: 2, seed: 23 });
  await expectMatches(rnn(3, { activation: 'linear', goBackwards: true, useBias: false }), { T: null, F: 2, seed: 24, runT: 4 });
});

const bi = (layer: tf.layers.Layer, mergeMode: 'concat' | 'sum' | 'mul' | 'ave' | null) =>
  tf.layers.bidirectional({ layer: layer as tf.RNN, mergeMode: mergeMode as 'concat' });

test('Bidirectional matches TF.js: each merge mode, each cell, sequences on/off', async () => {
  await expectMatches(bi(lstm(3, { returnSequences: true }), 'concat'), { T: 5, F: 2, seed: 31 });
  await expectMatches(bi(lstm(3), 'concat'), { T: 5, F: 2, seed: 32 });
  await expectMatches(bi(gru(4, { returnSequences: true }), 'sum'), { T: 4, F: 3, seed: 33 });
  await expectMatches(bi(gru(4), 'ave'), { T: 4, F: 3, seed: 34 });
  await expectMatches(bi(rnn(3, { returnSequences: true }), 'mul'), { T: 5, F: 2, seed: 35 });
  await expectMatches(bi(lstm(2, { returnSequences: true, recurrentActivation: 'hardSigmoid' }), 'ave'), { T: 5, F: 2, seed: 36 });
  await expectMatches(bi(rnn(2, { activation: 'relu' }), 'mul'), { T: 5, F: 2, seed: 37 });
});

test('Bidirectional over a go_backwards layer and with merge_mode null (two outputs) matches TF.js', async () => {
  await expectMatches(bi(lstm(3, { returnSequences: true, goBackwards: true }), 'concat'), { T: 5, F: 2, seed: 41 });
  await expectMatches(bi(gru(3, { goBackwards: true }), 'sum'), { T: 5, F: 2, seed: 42 });
  const l = await expectMatches(bi(lstm(3, { returnSequences: true }), null), { T: 5, F: 2, seed: 43 });
  assert.equal(l.config.merge_mode, null);
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

test('GRU reset_after=true (tf.keras 2 default) matches the Keras cell formula; the formula matches TF.js', async () => {
  const [B, T, F, H] = [BATCH, 5, 3, 4];
  for (const [seed, goBackwards, returnSequences] of [[51, false, true], [52, true, false], [53, true, true]] as const) {
    const { model, layer: l } = tfjsLayer(gru(H, { goBackwards, returnSequences }), [T, F], seed);
    const x = randomFloats(B * T * F, seededRandom(seed + 1000), 1);
    const tfOut = tf.tidy(() => (model.predict(tf.tensor(x, [B, T, F])) as tf.Tensor).dataSync() as Float32Array);
    assert.ok(relativeError(kerasGru(x, [B, T, F], H, l.weights, { resetAfter: false, goBackwards, returnSequences }), tfOut) <= 1e-5, 'reference GRU vs TF.js');

    const rand = seededRandom(seed + 7);
    const after: LayerUnderTest = {
      ...l, config: { ...l.config, reset_after: true },
      weights: [l.weights[0]!, l.weights[1]!, { name: `${l.name}/bias`, shape: [2, 3 * H], data: randomFloats(6 * H, rand, 0.6) }],
    };
    const ref = kerasGru(x, [B, T, F], H, after.weights, { resetAfter: true, goBackwards, returnSequences });
    const [y] = await runOne(convertOne(recurrentConverters.GRU!, after, [null, T, F]).model, x, [B, T, F]);
    const err = relativeError(y!.data as Float32Array, ref);
    assert.ok(err <= TOLERANCE, `GRU reset_after seed ${seed}: relative error ${err}`);
    // The same weights read as reset_after=false give a different function: the flag is honoured.
    assert.ok(relativeError(kerasGru(x, [B, T, F], H, [after.weights[0]!, after.weights[1]!, after.weights[2]!], { resetAfter: false, goBackwards, returnSequences }), ref) > 1e-3);
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
