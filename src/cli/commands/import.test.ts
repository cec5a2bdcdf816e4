import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { decodeModel } from '../../onnx/codec.ts';
import { randomizeWeights, saveTfjsModelToDir, tfReady } from '../../import/support.testkit.ts';
import { runCli } from '../cli.testkit.ts';

const SHARED_H5 = new URL('../../../../shared/models/keras_h5/', import.meta.url).pathname;

test('import writes an ONNX model with Keras names that inspect and split --at understand', async () => {
  await tfReady();
  const dir = mkdtempSync(join(tmpdir(), 'enn-import-cli-'));
  const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [6], units: 5, activation: 'relu', name: 'hidden' }), tf.layers.dropout({ rate: 0.2, name: 'drop' }), tf.layers.dense({ units: 3, activation: 'softmax', name: 'probs' })] });
  randomizeWeights(m);
  const json = await saveTfjsModelToDir(m, join(dir, 'tfjs'));
  const out = join(dir, 'model.onnx');
  const r = runCli(['import', json, '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /3 layers/);
  assert.match(r.stdout, /outputs probs float32\[batch,3\]/);
  const onnx = decodeModel(readFileSync(out));
  assert.deepEqual(onnx.graph!.output.map((o) => o.name), ['probs']);
  const inspect = runCli(['inspect', out]);
  assert.equal(inspect.code, 0, inspect.stderr);
  for (const l of ['hidden', 'drop', 'probs']) assert.match(inspect.stdout, new RegExp(`\\b${l}\\b`));
  const split = runCli(['split', json, '--at', 'drop', '--head', join(dir, 'h.onnx'), '--tail', join(dir, 't.onnx')]);
  assert.equal(split.code, 0, split.stderr);
  assert.match(split.stdout, /1 private layer\(s\) from 'probs'/);
});

test('import refuses an unsupported layer and a weights-only HDF5: one line, exit 2, nothing written', async () => {
  await tfReady();
  const dir = mkdtempSync(join(tmpdir(), 'enn-import-cli-'));
  const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2, name: 'odd' })] });
  const json = await saveTfjsModelToDir(m, join(dir, 'tfjs'));
  const text = readFileSync(json, 'utf8').replace('"class_name":"Dense"', '"class_name":"Dense2"');
  writeFileSync(json, text);
  const out = join(dir, 'x.onnx');
  const r = runCli(['import', json, '-o', out]);
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim().split('\n')[0]!, /layer 'odd': class Dense2 is not supported \(supported: Dense, .*, … \(\d+ more\)\)$/);
  assert.ok(!existsSync(out));
  if (existsSync(SHARED_H5)) {
    const w = runCli(['import', join(SHARED_H5, 'aeryes_twitter_sentiment_lstm.h5'), '-o', out]);
    assert.equal(w.code, 2);
    assert.match(w.stderr, /weights only.*model_config/);
    assert.ok(!existsSync(out));
  }
  const u = runCli(['import', json]);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /-o model\.onnx/);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
});
