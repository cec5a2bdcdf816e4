import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { datasetsBase } from './dataset-dir.ts';
import { loadRtPolarity, rtTokens } from './rt-polarity.ts';

const dir = join(datasetsBase(), 'rt-polarity');

test('rtTokens splits on runs of whitespace', () => {
  assert.deepEqual(rtTokens(' a  good\tfilm . \n'), ['a', 'good', 'film', '.']);
});

test('loadRtPolarity: seeded 90/10 split, Keras-style vocabulary and pre-padding, deterministic', { skip: !existsSync(dir) && 'needs ../shared/datasets/rt-polarity' }, () => {
  const a = loadRtPolarity(42);
  assert.equal(a.train.count + a.test.count, 10662);
  assert.equal(a.test.count, 1066);
  assert.ok(a.maxLength > 20 && a.maxLength <= 500);
  assert.ok(a.vocabSize <= 20000);
  const pos = a.test.labels.reduce((s, v) => s + v, 0);
  assert.ok(pos > 450 && pos < 620, `test positives ${pos}`);
  // row 0: zeros in front, then the sentence's ids; 'the' / ',' / '.' are among the top ranks
  const row = a.test.x.subarray(0, a.maxLength);
  const firstNonZero = row.findIndex((v) => v !== 0);
  assert.ok(firstNonZero > 0);
  assert.ok(row.subarray(firstNonZero).every((v) => v > 0));
  assert.ok(a.words.slice(0, 5).includes('the'));
  const b = loadRtPolarity(42);
  assert.deepEqual(b.test.texts, a.test.texts);
  assert.deepEqual(b.train.x, a.train.x);
  assert.notDeepEqual(loadRtPolarity(7).test.texts, a.test.texts);
});
