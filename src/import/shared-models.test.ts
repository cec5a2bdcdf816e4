/**
 * Real third-party models (../shared/models, see PROVENANCE.md there): each imports, matches
 * TF.js's predictions, and splits at every cut (`split --private N` for every N) into a head and
 * tail that together compute what the whole imported model computes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import h5wasm from 'h5wasm/node';
import type { Dataset, Group } from 'h5wasm/node';
import type { ModelProto } from 'onnx-buf';
import { importModel } from './index.ts';
import { isErrorCode } from '../errors.ts';
import { GraphView } from '../onnx/graph.ts';
import { randomFeeds, runOnnx } from '../onnx/ort.ts';
import { listCuts } from '../split/cuts.ts';
import { extractAt } from '../split/extract.ts';
import { runSplit } from '../split/split-runner.ts';
import { compareWithTfjs, fileLoadHandler, relativeError, seededRandom, tfReady } from './support.testkit.ts';

const MODELS = new URL('../../../shared/models/', import.meta.url).pathname;
const TFJS = join(MODELS, 'tfjs');
const H5 = join(MODELS, 'keras_h5');
const absent = !existsSync(MODELS) && 'needs ../shared/models (the third-party test models)';

/** Every cut: head + tail on ORT equals the whole model on ORT. Returns the number of cuts checked. */
async function checkEveryCut(onnx: ModelProto, integerInputs?: number): Promise<number> {
  const view = new GraphView(onnx);
  await view.inferTypes();
  const list = listCuts(view);
  const rand = seededRandom(3);
  const feeds = randomFeeds(view.inputs, 2, rand);
  if (integerInputs) for (const f of Object.values(feeds)) f.data = Float32Array.from(f.data as Float32Array, () => Math.floor(rand() * integerInputs));
  // Unknown non-batch dims (a text model's sequence length) become 1 in randomFeeds; use 12 steps.
  for (const [name, f] of Object.entries(feeds)) {
    const spec = view.inputs.find((i) => i.name === name)!;
    if (spec.shape.slice(1).some((d) => typeof d !== 'number')) {
      f.dims = spec.shape.map((d, i) => (typeof d === 'number' ? d : i === 0 ? 2 : 12));
      f.data = Float32Array.from({ length: f.dims.reduce((a, b) => a * b, 1) }, () => Math.floor(rand() * (integerInputs ?? 2)));
    }
  }
  const want = await runOnnx(onnx, feeds);
  for (const cut of list.cuts) {
    const got = await runSplit(extractAt(view, cut), feeds);
    for (const [name, w] of Object.entries(want)) {
      const err = relativeError(got[name]!, { dims: w.dims, data: w.data as Float32Array });
      assert.ok(err <= 1e-5, `--private ${cut.privateLayers} (after ${cut.afterLayer}): output ${name} differs by ${err}`);
    }
  }
  return list.cuts.length;
}

const TFJS_CASES: { dir: string; integerInputs?: number; layers: string[] }[] = [
  { dir: 'mnist_cnn_bn_keras3', layers: ['conv2d', 'batch_normalization', 'max_pooling2d', 'flatten', 'dense'] },
  { dir: 'imdb_conv1d_tfjsexamples_goodmood', integerInputs: 10000, layers: ['embedding_Embedding1', 'conv1d_Conv1D1', 'dense_Dense2'] },
  { dir: 'imdb_lstm_rnnexplainer', integerInputs: 10000, layers: ['embedding_Embedding1', 'lstm_LSTM1', 'dense_Dense1'] },
  { dir: 'mobilenet_devoxx19', layers: ['conv1', 'conv_dw_1', 'conv_pw_13_relu'] },
  { dir: 'tiny_vgg_cnnexplainer', layers: ['conv_1_1', 'output'] },
  { dir: 'digits_mlp', layers: ['dense_1', 'dense_5'] },
];

for (const c of TFJS_CASES) {
  test(`shared TF.js model ${c.dir}: imports, matches TF.js, splits at every layer`, { skip: absent }, async () => {
    await tfReady();
    const path = join(TFJS, c.dir, 'model.json');
    const reference = await tf.loadLayersModel(fileLoadHandler(path));
    const onnx = await importModel(path);
    const err = await compareWithTfjs(onnx, reference, { label: c.dir, integerInputs: c.integerInputs, batch: 2 });
    const layers = new Set(onnx.graph!.node.map((n) => n.name.slice(0, n.name.lastIndexOf('/'))));
    for (const l of c.layers) assert.ok(layers.has(l), `${c.dir}: Keras layer '${l}' is a layer of the ONNX graph`);
    const cuts = await checkEveryCut(onnx, c.integerInputs);
    assert.ok(cuts >= 3);
    console.log(`# ${c.dir}: max relative error ${err.toExponential(2)}, ${cuts} cuts checked`);
  });
}

/**
 * An independent reference for an HDF5 file: TF.js builds the model from the same model_config
 * (tf.models.modelFromJSON) and each layer takes its weights from its own `model_weights` group,
 * in `weight_names` order, with layer.setWeights.
 */
async function h5Reference(path: string): Promise<tf.LayersModel> {
  await h5wasm.ready;
  const f = new h5wasm.File(path, 'r');
  try {
    const config = JSON.parse(f.attrs.model_config!.value as string) as object;
    const model = await tf.models.modelFromJSON({ modelTopology: config } as unknown as tf.io.ModelJSON);
    const root = f.get('model_weights') as Group;
    for (const layer of model.layers) {
      const g = root.get(layer.name) as Group | null;
      const names = g ? ((g.attrs.weight_names?.value ?? []) as string[]) : [];
      if (names.length === 0) continue;
      layer.setWeights(names.map((n) => {
        const d = g!.get(n) as Dataset;
        return tf.tensor(d.value as Float32Array, d.shape!);
      }));
    }
    return model;
  } finally {
    f.close();
  }
}

const H5_CASES: { file: string; integerInputs?: number; layers: string[] }[] = [
  { file: 'fer2013_mini_XCEPTION.102-0.66.hdf5', layers: ['conv2d_1', 'separable_conv2d_1', 'add_4', 'predictions'] },
  { file: 'tensorspace_mnist.h5', layers: ['reshape_1', 'Conv2D_1', 'flatten_1', 'Softmax'] },
  { file: 'harshaky_sentiment_model.h5', integerInputs: 1000, layers: ['embedding', 'bidirectional', 'global_max_pooling1d', 'dense_1'] },
];

for (const c of H5_CASES) {
  test(`shared Keras HDF5 model ${c.file}: imports, matches TF.js, splits at every layer`, { skip: absent }, async () => {
    await tfReady();
    const path = join(H5, c.file);
    const onnx = await importModel(path);
    const reference = await h5Reference(path);
    const err = await compareWithTfjs(onnx, reference, { label: c.file, integerInputs: c.integerInputs, batch: 2, dynamicDim: 12 });
    const layers = new Set(onnx.graph!.node.map((n) => n.name.slice(0, n.name.lastIndexOf('/'))));
    for (const l of c.layers) assert.ok(layers.has(l), `${c.file}: Keras layer '${l}' is a layer of the ONNX graph`);
    const cuts = await checkEveryCut(onnx, c.integerInputs);
    console.log(`# ${c.file}: max relative error ${err.toExponential(2)}, ${cuts} cuts checked`);
  });
}

test('the weights-only HDF5 file is refused with a clear message', { skip: absent }, async () => {
  await assert.rejects(importModel(join(H5, 'aeryes_twitter_sentiment_lstm.h5')), (e: Error) =>
    isErrorCode(e, 'IMPORT_NO_CONFIG') && /aeryes_twitter_sentiment_lstm\.h5/.test(e.message) && /weights only/.test(e.message));
});
