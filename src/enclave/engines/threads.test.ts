import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseIntraOpThreads, ORT_THREADS_CROSSOVER_FLOPS } from './threads.ts';

test('one thread below the FLOPs crossover, one per core from it on', () => {
  const c = ORT_THREADS_CROSSOVER_FLOPS;
  assert.equal(chooseIntraOpThreads({ flops: 0, cores: 4 }), 1);
  assert.equal(chooseIntraOpThreads({ flops: c - 1, cores: 4 }), 1);
  assert.equal(chooseIntraOpThreads({ flops: c, cores: 4 }), 4);
  assert.equal(chooseIntraOpThreads({ flops: 1e12, cores: 1 }), 1, 'one core: one thread');
});

test('the batch multiplies the work of one call', () => {
  const half = ORT_THREADS_CROSSOVER_FLOPS / 2;
  assert.equal(chooseIntraOpThreads({ flops: half, batch: 1, cores: 2 }), 1);
  assert.equal(chooseIntraOpThreads({ flops: half, batch: 2, cores: 2 }), 2);
});

test('bad inputs are RangeErrors naming the value', () => {
  assert.throws(() => chooseIntraOpThreads({ flops: Number.NaN }), /FLOPs must be a finite number ≥ 0, got NaN/);
  assert.throws(() => chooseIntraOpThreads({ flops: -1 }), RangeError);
  assert.throws(() => chooseIntraOpThreads({ flops: 1, batch: 0 }), /batch must be an integer ≥ 1/);
  assert.throws(() => chooseIntraOpThreads({ flops: 1, cores: 1.5 }), /cores must be an integer ≥ 1/);
});
