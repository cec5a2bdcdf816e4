import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { datasetsBase } from './dataset-dir.ts';
import { loadRtPolarity, rtEncoder, rtStyleTokens, rtTokens } from './rt-polarity.ts';

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

test('rtStyleTokens: foreign text in the dataset\'s style (tags out, lower case, punctuation split off, apostrophes and hyphens kept)', () => {
  assert.deepEqual(rtStyleTokens('Great film!<br /><br />It "works", doesn\'t it? (Co-writer: me.)'),
    ['great', 'film', '!', 'it', '"', 'works', '"', ',', 'doesn\'t', 'it', '?', '(', 'co-writer', ':', 'me', '.', ')']);
  assert.deepEqual(rtStyleTokens('Good--really... good'), ['good', '--', 'really', '.', '.', '.', 'good']);
  // a dataset line is already in that style: unchanged
  const line = 'the rock is destined to be the 21st century\'s new " conan " -- and that he\'s going to make a splash , jean-claud van damme .';
  assert.deepEqual(rtStyleTokens(line), rtTokens(line));
});

test('rtEncoder: vocabulary ids, unknown words dropped, pre-padded to L, the last L ids of a longer text', () => {
  const encode = rtEncoder({ words: ['the', 'film', 'good'], maxLength: 4 });
  assert.deepEqual(Array.from(encode(['the', 'good', 'zzz'])), [0, 0, 1, 3]);
  assert.deepEqual(Array.from(encode(['good', 'the', 'film', 'film', 'the', 'good'])), [2, 2, 1, 3]);
  assert.deepEqual(Array.from(encode([])), [0, 0, 0, 0]);
});

test('loadRtPolarity rows are rtEncoder of the sentences\' tokens', { skip: !existsSync(dir) && 'needs ../shared/datasets/rt-polarity' }, () => {
  const d = loadRtPolarity(42);
  const encode = rtEncoder(d);
  for (const r of [0, 1, 500, d.test.count - 1]) {
    assert.deepEqual(d.test.x.subarray(r * d.maxLength, (r + 1) * d.maxLength), encode(rtTokens(d.test.texts[r]!)), `test row ${r}`);
  }
});
