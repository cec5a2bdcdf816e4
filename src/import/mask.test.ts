import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { isErrorCode } from '../errors.ts';
import { expectImportMatches, saveTfjsArtifacts } from './support.testkit.ts';
import { importTfjsArtifacts } from './index.ts';

const ids = [[0, 0, 3, 4, 5, 6], [1, 2, 3, 0, 0, 0], [0, 7, 0, 8, 9, 0], [5, 6, 7, 8, 9, 10]];

test('Embedding(mask_zero) → Dropout → LSTM imports through the whole importer and matches TF.js on padded rows', async () => {
  const model = tf.sequential({ layers: [
    tf.layers.embedding({ inputDim: 12, outputDim: 4, inputLength: 6, maskZero: true }),
    tf.layers.dropout({ rate: 0.2 }),
    tf.layers.lstm({ units: 3 }),
  ] });
  const { maxRelError } = await expectImportMatches(model, { inputs: [tf.tensor(ids.flat(), [4, 6])] });
  assert.ok(maxRelError <= 1e-3, `relative error ${maxRelError}`);
});

test('a layer that would ignore a Keras mask is refused, naming it, instead of converting silently wrong', async () => {
  const model = tf.sequential({ layers: [
    tf.layers.embedding({ inputDim: 12, outputDim: 4, inputLength: 6, maskZero: true }),
    tf.layers.globalAveragePooling1d({}),
  ] });
  const artifacts = await saveTfjsArtifacts(model);
  assert.throws(() => importTfjsArtifacts(artifacts), (e) => isErrorCode(e, 'IMPORT_MASK') && /global_average_pooling1d.*GlobalAveragePooling1D.*receives a Keras mask/.test((e as Error).message));
});
