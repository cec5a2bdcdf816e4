// Import time of the paper's VGG16-GAP model (MIT67 head) from the TF.js Layers format: medians
// after a warm-up (not a test). Target: under 10 s.
//   npx tsx bench/import-vgg16.ts [--runs 5]
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { importModel } from '../src/import/index.ts';
import { encodeModel } from '../src/onnx/codec.ts';
import { randomizeWeights, saveTfjsModelToDir, tfReady } from '../src/import/support.testkit.ts';
import { middleValue } from '../src/report/stats.ts';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

/** VGG16 convolution base at 224×224×3 → GAP → Dense 2048 → Dropout 0.4 → Dense 2048 → Dropout 0.4 → Dense 67. */
function vgg16Gap(): tf.LayersModel {
  const layers: tf.layers.Layer[] = [];
  const blocks = [[64, 2], [128, 2], [256, 3], [512, 3], [512, 3]] as const;
  blocks.forEach(([filters, count], b) => {
    for (let i = 0; i < count; i++) {
      layers.push(tf.layers.conv2d({
        ...(layers.length === 0 ? { inputShape: [224, 224, 3] } : {}),
        filters, kernelSize: 3, padding: 'same', activation: 'relu', name: `block${b + 1}_conv${i + 1}`,
      }));
    }
    layers.push(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `block${b + 1}_pool` }));
  });
  layers.push(
    tf.layers.globalAveragePooling2d({ name: 'gap' }),
    tf.layers.dense({ units: 2048, activation: 'relu', name: 'fc1' }),
    tf.layers.dropout({ rate: 0.4, name: 'drop1' }),
    tf.layers.dense({ units: 2048, activation: 'relu', name: 'fc2' }),
    tf.layers.dropout({ rate: 0.4, name: 'drop2' }),
    tf.layers.dense({ units: 67, activation: 'softmax', name: 'predictions' }),
  );
  return tf.sequential({ name: 'vgg16_gap', layers });
}

await tfReady();
const dir = mkdtempSync(join(tmpdir(), 'enclave-nn-vgg16-'));
try {
  const model = vgg16Gap();
  randomizeWeights(model, 42, 0.05);
  const path = await saveTfjsModelToDir(model, dir, { shardSize: 4 * 1024 * 1024 });
  const size = readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
  console.log(`VGG16-GAP: ${model.countParams().toLocaleString('en')} parameters, ${(size / 1e6).toFixed(1)} MB in ${readdirSync(dir).length - 1} shards`);
  model.dispose();

  const importTimes: number[] = [];
  const encodeTimes: number[] = [];
  let bytes: Uint8Array = new Uint8Array(0);
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const onnx = await importModel(path);
    const t1 = performance.now();
    bytes = encodeModel(onnx);
    const t2 = performance.now();
    if (i > 0) { importTimes.push(t1 - t0); encodeTimes.push(t2 - t1); } // run 0 is the warm-up
  }
  console.log(`import (model.json → ModelProto): median ${(middleValue(importTimes) / 1000).toFixed(2)} s over ${runs} runs (min ${(Math.min(...importTimes) / 1000).toFixed(2)} s, max ${(Math.max(...importTimes) / 1000).toFixed(2)} s)`);
  console.log(`encode (ModelProto → ${(bytes.byteLength / 1e6).toFixed(1)} MB ONNX): median ${(middleValue(encodeTimes) / 1000).toFixed(2)} s`);
  console.log(`import + encode: median ${((middleValue(importTimes) + middleValue(encodeTimes)) / 1000).toFixed(2)} s (target < 10 s)`);
  const s = await ort.InferenceSession.create(bytes);
  console.log(`sanity: ONNX Runtime loads it; inputs ${s.inputNames.join(',')} → outputs ${s.outputNames.join(',')}`);
  await s.release();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
