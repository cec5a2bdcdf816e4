import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { zipSync, strToU8 } from 'fflate';
import h5wasm from 'h5wasm/node';
import { converters, importModel, importModelBytes, importTfjsArtifacts, supportedLayers } from './index.ts';
import { snakeCase } from './sources/keras-zip.ts';
import { isErrorCode } from '../errors.ts';
import { GraphView } from '../onnx/graph.ts';
import { runOnnx } from '../onnx/ort.ts';
import { groupLayers } from '../split/layers.ts';
import {
  compareWithTfjs, expectImportMatches, fileLoadHandler, randomizeWeights, relativeError, saveTfjsArtifacts, saveTfjsModelToDir, tfReady,
} from './support.testkit.ts';
import { writeKerasH5 } from './keras-h5.testkit.ts';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'enclave-nn-import-'));
}

/** A functional model: one input feeding two branches (shared input), a merge, two outputs. */
function branchyModel(): tf.LayersModel {
  const x = tf.input({ shape: [8, 8, 3], name: 'image' });
  const aux = tf.input({ shape: [5], name: 'aux' });
  const c = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv' }).apply(x) as tf.SymbolicTensor;
  const p = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(c) as tf.SymbolicTensor;
  const left = tf.layers.conv2d({ filters: 4, kernelSize: 1, name: 'left' }).apply(p) as tf.SymbolicTensor;
  const right = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'right' }).apply(p) as tf.SymbolicTensor;
  const sum = tf.layers.add({ name: 'residual' }).apply([left, right]) as tf.SymbolicTensor;
  const g = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(sum) as tf.SymbolicTensor;
  const both = tf.layers.concatenate({ name: 'concat' }).apply([g, tf.layers.dense({ units: 3, name: 'aux_dense' }).apply(aux) as tf.SymbolicTensor]) as tf.SymbolicTensor;
  const out1 = tf.layers.dense({ units: 4, activation: 'softmax', name: 'probs' }).apply(both) as tf.SymbolicTensor;
  const out2 = tf.layers.dense({ units: 1, name: 'score' }).apply(g) as tf.SymbolicTensor;
  const m = tf.model({ inputs: [x, aux], outputs: [out1, out2], name: 'branchy' });
  randomizeWeights(m, 3);
  return m;
}

test('functional model: two inputs, shared input, residual merge, two outputs keep Keras names and layer boundaries', async () => {
  const m = branchyModel();
  const { onnx } = await expectImportMatches(m);
  assert.deepEqual(onnx.graph!.input.map((i) => i.name), ['image', 'aux']);
  assert.deepEqual(onnx.graph!.output.map((o) => o.name), ['probs', 'score']);
  const view = new GraphView(onnx);
  const names = groupLayers(view).layers.map((l) => l.name);
  for (const l of ['conv', 'pool', 'left', 'right', 'residual', 'gap', 'aux_dense', 'concat', 'probs', 'score']) assert.ok(names.includes(l), `layer ${l} in [${names}]`);
  assert.ok(onnx.graph!.node.every((n) => n.name.includes('/')), 'every node is named <layer>/<op>');
  assert.ok(onnx.graph!.initializer.every((t) => t.name.includes('/')), 'every initializer is named <layer>/<part>');
  // The image input keeps its Keras shape with a symbolic batch.
  const dims = onnx.graph!.input[0]!.type!.value.value as { shape?: { dim: { value: { case?: string; value?: unknown } }[] } };
  assert.deepEqual(dims.shape!.dim.map((d) => d.value.value), ['batch', 8n, 8n, 3n]);
});

test('nested models are inlined: a Sequential and a functional model used as layers', async () => {
  await tfReady();
  const inner = tf.sequential({ name: 'inner_seq', layers: [tf.layers.dense({ inputShape: [6], units: 5, activation: 'relu', name: 'inner_a' }), tf.layers.dense({ units: 4, name: 'inner_b' })] });
  const fx = tf.input({ shape: [4], name: 'fx' });
  const innerF = tf.model({ name: 'inner_fn', inputs: fx, outputs: tf.layers.dense({ units: 2, name: 'inner_c' }).apply(fx) as tf.SymbolicTensor });
  const x = tf.input({ shape: [6], name: 'x' });
  const h = inner.apply(x) as tf.SymbolicTensor;
  const y = innerF.apply(tf.layers.activation({ activation: 'tanh', name: 'mid' }).apply(h) as tf.SymbolicTensor) as tf.SymbolicTensor;
  const m = tf.model({ inputs: x, outputs: y });
  randomizeWeights(m, 5);
  const { onnx } = await expectImportMatches(m);
  const names = groupLayers(new GraphView(onnx)).layers.map((l) => l.name);
  assert.deepEqual(names, ['inner_a', 'inner_b', 'mid', 'inner_c']);
});

test('TF.js files: several shards, several groups, the old format without `format`, quantized uint8/uint16/float16 weights', async () => {
  await tfReady();
  const m = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, name: 'c1' }), tf.layers.flatten({ name: 'f' }), tf.layers.dense({ units: 5, name: 'd1' }), tf.layers.dense({ units: 2, name: 'd2' })] });
  randomizeWeights(m, 9);
  const dir = tempDir();
  try {
    // One group, many shards.
    const path = await saveTfjsModelToDir(m, join(dir, 'shards'), { shardSize: 100 });
    const json = JSON.parse(readFileSync(path, 'utf8')) as { weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string; quantization?: object }[] }[]; format?: string; modelTopology: Record<string, unknown> };
    assert.ok(json.weightsManifest[0]!.paths.length > 3);
    await compareWithTfjs(await importModel(path), m, { label: 'shards' });

    // Several groups: one per weight, each its own shard file.
    const all = Buffer.concat(json.weightsManifest[0]!.paths.map((p) => readFileSync(join(dir, 'shards', p))));
    const groups: typeof json.weightsManifest = [];
    let offset = 0;
    json.weightsManifest[0]!.weights.forEach((w, i) => {
      const size = w.shape.reduce((a, b) => a * b, 1) * 4;
      writeFileSync(join(dir, `g${i}.bin`), all.subarray(offset, offset + size));
      offset += size;
      groups.push({ paths: [`g${i}.bin`], weights: [w] });
    });
    writeFileSync(join(dir, 'groups.json'), JSON.stringify({ ...json, weightsManifest: groups }));
    await compareWithTfjs(await importModel(join(dir, 'groups.json')), m, { label: 'groups' });

    // Old format: no `format` field, modelTopology = { model_config, keras_version }, and = the bare config.
    const { format: _f, ...old } = { ...json, weightsManifest: groups };
    writeFileSync(join(dir, 'old1.json'), JSON.stringify({ ...old, modelTopology: { model_config: json.modelTopology, keras_version: '2.1.6-tf', backend: 'tensorflow' } }));
    await compareWithTfjs(await importModel(join(dir, 'old1.json')), m, { label: 'old format (model_config)' });
    writeFileSync(join(dir, 'old2.json'), JSON.stringify({ ...old, modelTopology: json.modelTopology }));
    await compareWithTfjs(await importModel(join(dir, 'old2.json')), m, { label: 'old format (bare config)' });

    // Quantized weights (as tensorflowjs_converter --quantize_uint8/uint16 writes them); TF.js dequantizes on load.
    const toHalf = (v: number): number => {
      const f32 = new Float32Array([v]);
      const x = new Uint32Array(f32.buffer)[0]!;
      const sign = (x >>> 16) & 0x8000;
      const e = ((x >>> 23) & 0xff) - 127 + 15;
      if (e <= 0) return sign; // tiny values flush to zero (none here)
      return sign | (e << 10) | ((x >>> 13) & 0x3ff);
    };
    {
      const values = new Float32Array(all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength));
      writeFileSync(join(dir, 'q_f16.bin'), Buffer.from(Uint16Array.from(values, toHalf).buffer));
      const weights = json.weightsManifest[0]!.weights.map((w) => ({ ...w, quantization: { dtype: 'float16', original_dtype: 'float32' } }));
      const qpath = join(dir, 'q_f16.json');
      writeFileSync(qpath, JSON.stringify({ ...json, weightsManifest: [{ paths: ['q_f16.bin'], weights }] }));
      await compareWithTfjs(await importModel(qpath), await tf.loadLayersModel(fileLoadHandler(qpath)), { label: 'quantized float16' });
    }
    for (const [dtype, levels] of [['uint8', 255], ['uint16', 65535]] as const) {
      const qparts: Buffer[] = [];
      const weights = json.weightsManifest[0]!.weights.map((w, i) => {
        const values = new Float32Array(all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength), json.weightsManifest[0]!.weights.slice(0, i).reduce((s, v) => s + v.shape.reduce((a, b) => a * b, 1) * 4, 0), w.shape.reduce((a, b) => a * b, 1));
        const min = Math.min(...values);
        const max = Math.max(...values);
        const scale = (max - min) / levels || 1;
        const q = dtype === 'uint8' ? Uint8Array.from(values, (v) => Math.round((v - min) / scale)) : Uint16Array.from(values, (v) => Math.round((v - min) / scale));
        qparts.push(Buffer.from(q.buffer));
        return { ...w, quantization: { dtype, scale, min } };
      });
      writeFileSync(join(dir, `q_${dtype}.bin`), Buffer.concat(qparts));
      const qpath = join(dir, `q_${dtype}.json`);
      writeFileSync(qpath, JSON.stringify({ ...json, weightsManifest: [{ paths: [`q_${dtype}.bin`], weights }] }));
      const reference = await tf.loadLayersModel(fileLoadHandler(qpath));
      await compareWithTfjs(await importModel(qpath), reference, { label: `quantized ${dtype}` });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Keras HDF5: model_config + model_weights groups import and match; weights-only files are refused', async () => {
  await tfReady();
  const m = branchyModel();
  const dir = tempDir();
  try {
    const path = join(dir, 'model.h5');
    await writeKerasH5(m, path);
    await compareWithTfjs(await importModel(path), m, { label: 'h5' });
    const bytes = readFileSync(path);
    await compareWithTfjs(await importModelBytes(bytes, { format: 'hdf5', label: 'bytes.h5' }), m, { label: 'h5 bytes' });
    const weightsOnly = join(dir, 'weights.h5');
    await writeKerasH5(m, weightsOnly, { withConfig: false });
    await assert.rejects(importModel(weightsOnly), (e: Error) => isErrorCode(e, 'IMPORT_NO_CONFIG') && /weights only/.test(e.message) && /model_config/.test(e.message));
    writeFileSync(join(dir, 'junk.h5'), 'not hdf5');
    await assert.rejects(importModel(join(dir, 'junk.h5')), (e: Error) => isErrorCode(e, 'IMPORT_FORMAT'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Writes a `.keras` (Keras 3) zip for a TF.js model: config.json in Keras 3 form, model.weights.h5 with layers/<name>/vars/<i>. */
async function writeKerasZip(m: tf.LayersModel, path: string): Promise<void> {
  await h5wasm.ready;
  const a = await saveTfjsArtifacts(m);
  const data = Buffer.concat((Array.isArray(a.weightData) ? a.weightData : [a.weightData as ArrayBuffer]).map((b) => Buffer.from(b)));
  const topo = a.modelTopology as { class_name: string; config: { layers: { class_name: string; config: Record<string, unknown>; inbound_nodes?: [string, number, number, object][][] }[] } & Record<string, unknown> };
  // Keras 3 form: Functional class, inbound nodes as {args, kwargs} with __keras_tensor__ refs, dtype policies.
  const tensor = (r: [string, number, number, object]) => ({ class_name: '__keras_tensor__', config: { shape: null, dtype: 'float32', keras_history: [r[0], r[1], r[2]] } });
  const layers = topo.config.layers.map((l) => ({
    module: 'keras.layers', class_name: l.class_name, registered_name: null, name: l.config.name,
    config: { ...l.config, dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' } }, ...(l.class_name === 'InputLayer' ? { batch_shape: l.config.batch_input_shape, batch_input_shape: undefined } : {}) },
    inbound_nodes: (l.inbound_nodes ?? []).map((n) => ({ args: n.length === 1 ? [tensor(n[0]!)] : [n.map(tensor)], kwargs: {} })),
  }));
  const outs = topo.config.output_layers as unknown[];
  const policy = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' } };
  const config = topo.class_name === 'Sequential'
    ? { module: 'keras', class_name: 'Sequential', registered_name: null, config: { name: topo.config.name, trainable: true, dtype: policy, layers: [
      { module: 'keras.layers', class_name: 'InputLayer', registered_name: null, config: { batch_shape: layers[0]!.config.batch_input_shape, dtype: 'float32', sparse: false, name: 'input_layer' } },
      ...layers.map((l) => ({ ...l, name: undefined, inbound_nodes: undefined, config: { ...l.config, batch_input_shape: undefined } })),
    ], build_input_shape: layers[0]!.config.batch_input_shape } }
    : { module: 'keras', class_name: 'Functional', registered_name: 'Functional', config: { ...topo.config, layers, output_layers: outs.length === 1 ? outs[0] : outs } };
  const tmp = `${path}.weights.h5`;
  const f = new h5wasm.File(tmp, 'w');
  try {
    const root = f.create_group('layers');
    let offset = 0;
    const counts = new Map<string, number>();
    // Keras 3 keys layers by class name (snake_case, numbered per class in layer order), not by layer name.
    const perClass = new Map<string, number>();
    const keyOf = new Map(layers.map((l) => {
      const base = snakeCase(l.class_name);
      const n = perClass.get(base);
      perClass.set(base, n === undefined ? 0 : n + 1);
      return [l.name as string, n === undefined ? base : `${base}_${n + 1}`];
    }));
    for (const w of a.weightSpecs ?? []) {
      const n = w.shape.reduce((x, y) => x * y, 1);
      const values = new Float32Array(data.buffer.slice(data.byteOffset + offset, data.byteOffset + offset + n * 4));
      offset += n * 4;
      const layer = keyOf.get(w.name.split('/')[0]!)!;
      const i = counts.get(layer) ?? 0;
      counts.set(layer, i + 1);
      const g = (root.get(layer) as ReturnType<typeof root.create_group> | null) ?? root.create_group(layer);
      const vars = (g.get('vars') as ReturnType<typeof root.create_group> | null) ?? g.create_group('vars');
      vars.create_dataset({ name: String(i), data: values, shape: w.shape, dtype: '<f' });
    }
  } finally {
    f.close();
  }
  writeFileSync(path, zipSync({ 'config.json': strToU8(JSON.stringify(config)), 'metadata.json': strToU8(JSON.stringify({ keras_version: '3.3.3' })), 'model.weights.h5': readFileSync(tmp) }));
  rmSync(tmp);
}

test('Keras 3 .keras zip: config.json (Keras 3 inbound nodes) + model.weights.h5 (layers/<class key>/vars)', async () => {
  await tfReady();
  const m = branchyModel();
  const dir = tempDir();
  try {
    const path = join(dir, 'model.keras');
    await writeKerasZip(m, path);
    const onnx = await importModel(path);
    assert.deepEqual(onnx.graph!.output.map((o) => o.name), ['probs', 'score']);
    await compareWithTfjs(onnx, m, { label: '.keras' });
    const s = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, name: 'first' }), tf.layers.batchNormalization({ name: 'bn' }), tf.layers.flatten({ name: 'flat' }), tf.layers.dense({ units: 4, name: 'out' })] });
    randomizeWeights(s, 8);
    await writeKerasZip(s, join(dir, 'seq.keras'));
    const seqOnnx = await importModel(join(dir, 'seq.keras'));
    assert.deepEqual(seqOnnx.graph!.input.map((i) => i.name), ['input_layer']);
    await compareWithTfjs(seqOnnx, s, { label: 'Sequential .keras' });
    writeFileSync(join(dir, 'bad.keras'), 'not a zip');
    await assert.rejects(importModel(join(dir, 'bad.keras')), (e: Error) => isErrorCode(e, 'IMPORT_FORMAT'));
    writeFileSync(join(dir, 'noconfig.keras'), zipSync({ 'model.weights.h5': new Uint8Array(8) }));
    await assert.rejects(importModel(join(dir, 'noconfig.keras')), (e: Error) => isErrorCode(e, 'IMPORT_NO_CONFIG'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unsupported layer is refused naming the layer, its class and the supported classes', async () => {
  await tfReady();
  const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, name: 'ok' }), tf.layers.dense({ units: 2, name: 'weird' })] });
  const a = await saveTfjsArtifacts(m);
  const topo = JSON.parse(JSON.stringify(a.modelTopology)) as { config: { layers: { class_name: string }[] } };
  topo.config.layers[1]!.class_name = 'MyCustomLayer';
  assert.throws(() => importTfjsArtifacts({ ...a, modelTopology: topo }), (e: Error) =>
    isErrorCode(e, 'IMPORT_UNSUPPORTED_LAYER') && /'weird'/.test(e.message) && /MyCustomLayer/.test(e.message)
    // the supported classes, cut to the nearest names plus a count (util/nearest.ts)
    && /\(supported: [A-Z]\w*(, [A-Z]\w*)+, … \(\d+ more\)\)$/.test(e.message));
  assert.ok(supportedLayers().includes('LSTM'), 'the recurrent family is registered');
});

test('Keras 3 weight keys: snake_case of the class name, as keras.src.utils.naming.to_snake_case', () => {
  assert.equal(snakeCase('Conv2D'), 'conv2d');
  assert.equal(snakeCase('BatchNormalization'), 'batch_normalization');
  assert.equal(snakeCase('SeparableConv2D'), 'separable_conv2d');
  assert.equal(snakeCase('LSTM'), 'lstm');
  assert.equal(snakeCase('PReLU'), 'p_re_lu');
  assert.equal(snakeCase('Dense'), 'dense');
});

test('Keras aliases share their canonical converter', () => {
  for (const [alias, canonical] of [['MaxPool1D', 'MaxPooling1D'], ['MaxPool2D', 'MaxPooling2D'], ['AvgPool1D', 'AveragePooling1D'], ['AvgPool2D', 'AveragePooling2D'],
    ['GlobalAvgPool1D', 'GlobalAveragePooling1D'], ['GlobalAvgPool2D', 'GlobalAveragePooling2D'], ['GlobalMaxPool1D', 'GlobalMaxPooling1D'], ['GlobalMaxPool2D', 'GlobalMaxPooling2D']]) {
    assert.equal(converters[alias], converters[canonical], alias);
  }
});

test('a layer called twice (shared weights, siamese) converts each call; outputs stay Keras names', async () => {
  await tfReady();
  const a = tf.input({ shape: [5], name: 'left' });
  const b = tf.input({ shape: [5], name: 'right' });
  const shared = tf.layers.dense({ units: 4, activation: 'tanh', name: 'shared' });
  const ea = shared.apply(a) as tf.SymbolicTensor;
  const eb = shared.apply(b) as tf.SymbolicTensor;
  const d = tf.layers.dot({ axes: 1, normalize: true, name: 'cosine' }).apply([ea, eb]) as tf.SymbolicTensor;
  const m = tf.model({ inputs: [a, b], outputs: [d, eb] });
  randomizeWeights(m, 4);
  const { onnx } = await expectImportMatches(m);
  assert.deepEqual(onnx.graph!.output.map((o) => o.name), ['cosine', 'shared']);
  const names = groupLayers(new GraphView(onnx)).layers.map((l) => l.name);
  // The two calls are emitted back to back, so split sees one layer 'shared' holding both.
  assert.deepEqual(names, ['shared', 'cosine']);
  assert.equal(onnx.graph!.node.filter((n) => n.opType === 'Gemm').length, 2);
});

test('Keras HDF5 with a nested model (a transfer-learning base): its group holds the inner layers\' weights', async () => {
  await tfReady();
  const base = tf.sequential({ name: 'base', layers: [tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, activation: 'relu', name: 'b_conv' }), tf.layers.batchNormalization({ name: 'b_bn' })] });
  const m = tf.sequential({ name: 'top', layers: [base, tf.layers.globalAveragePooling2d({ name: 'gap' }), tf.layers.dense({ units: 3, name: 'head' })] });
  randomizeWeights(m, 6);
  const dir = tempDir();
  try {
    const path = join(dir, 'nested.h5');
    await writeKerasH5(m, path);
    const onnx = await importModel(path);
    assert.deepEqual(groupLayers(new GraphView(onnx)).layers.map((l) => l.name), ['b_conv', 'b_bn', 'gap', 'head']);
    await compareWithTfjs(onnx, m, { label: 'nested h5' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an output repeated twice gets an Identity node with a name of its own', async () => {
  await tfReady();
  const x = tf.input({ shape: [3], name: 'x' });
  const y = tf.layers.dense({ units: 2, name: 'y' }).apply(x) as tf.SymbolicTensor;
  const m = tf.model({ inputs: x, outputs: [y, y] });
  randomizeWeights(m, 2);
  const onnx = importTfjsArtifacts(await saveTfjsArtifacts(m));
  const names = onnx.graph!.output.map((o) => o.name);
  assert.equal(new Set(names).size, 2, `distinct output names: ${names}`);
  assert.equal(names[0], 'y_0');
  // TF.js cannot predict a model that repeats an output: compare each with the one-output model.
  const single = tf.model({ inputs: x, outputs: y });
  const xs = tf.randomUniform([2, 3], -1, 1, 'float32', 1);
  const want = single.predict(xs) as tf.Tensor;
  const got = await runOnnx(onnx, { x: { dtype: 'float32', dims: [2, 3], data: xs.dataSync() as Float32Array } });
  for (const n of names) assert.ok(relativeError(got[n]!, { dims: want.shape, data: want.dataSync() }) < 1e-6, n);
});
