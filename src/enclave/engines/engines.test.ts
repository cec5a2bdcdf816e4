import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isErrorCode } from '../../errors.ts';
import { encodeModel } from '../../onnx/codec.ts';
import { maxAbsDiff, randomFeeds, runOnnx } from '../../onnx/ort.ts';
import { cnnModel, seededRandom } from '../../onnx/models.testkit.ts';
import { ENGINES, getEngine } from './index.ts';

test('every engine runs the CNN like onnxruntime-node, from bytes', async () => {
  const model = cnnModel();
  const feeds = randomFeeds([{ name: 'image', dtype: 'float32', shape: ['N', 1, 12, 12] }], 3, seededRandom(1));
  const want = await runOnnx(model, feeds);
  for (const name of Object.keys(ENGINES)) {
    const s = await getEngine(name).create(encodeModel(model));
    try {
      const got = await s.run(feeds);
      assert.ok(maxAbsDiff(got.probs!, want.probs!) <= 1e-5, name);
    } finally {
      await s.release();
    }
  }
});

test('an unknown engine lists the known ones', () => {
  assert.throws(() => getEngine('tpu'), (e) => isErrorCode(e, 'ENGINE_UNKNOWN') && /known: ort, wasm/.test((e as Error).message));
});

test('ort runs the native session synchronously: no event-loop turn inside run()', async () => {
  const model = cnnModel();
  const feeds = randomFeeds([{ name: 'image', dtype: 'float32', shape: ['N', 1, 12, 12] }], 2, seededRandom(2));
  const s = await getEngine('ort').create(encodeModel(model));
  try {
    let turned = false;
    setImmediate(() => { turned = true; });
    const got = await s.run(feeds);
    // onnxruntime-node's public run() answers only after a setImmediate (its backend.js).
    assert.equal(turned, false, 'run() settled before the event loop turned');
    assert.ok(maxAbsDiff(got.probs!, (await runOnnx(model, feeds)).probs!) <= 1e-5);
    await assert.rejects(s.run({}), /missing/, 'a missing input is an error, not a crash');
  } finally {
    await s.release();
  }
});
