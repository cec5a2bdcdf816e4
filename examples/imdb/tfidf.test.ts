import { test } from 'node:test';
import assert from 'node:assert/strict';
import { densify, fitTfidf, terms, tokenize, transformTfidf } from './tfidf.ts';

const docs = [
  'A great film.<br /><br />Great acting, GREAT story!',
  "Don't watch this film: a bad, bad story.",
  'The story was great; the film was bad?',
  'Über-good film ünd great',
];

test('tokenize strips HTML, lower-cases, keeps runs of ≥ 2 word characters', () => {
  assert.deepEqual(tokenize('A great film.<br /><br />Great acting'), ['great', 'film', 'great', 'acting']);
  assert.deepEqual(tokenize("Don't x_y 42 Über"), ['don', 'x_y', '42', 'über']);
  assert.deepEqual(terms('Great film too'), ['great', 'film', 'too', 'great film', 'film too']);
});

test('fitTfidf: df ranking, ties by term, smoothed idf, deterministic across input copies', () => {
  const v = fitTfidf(docs, { maxFeatures: 6, minDf: 2 });
  // df: film 4, great 3, story 3, bad 2, the/was 1 (only doc 3 → dropped, min_df 2), ...
  assert.deepEqual(v.vocabulary, ['film', 'great', 'story', 'bad']);
  assert.equal(v.documentCount, 4);
  assert.ok(Math.abs(v.idf[0] - (Math.log(5 / 5) + 1)) < 1e-12);
  assert.ok(Math.abs(v.idf[3] - (Math.log(5 / 3) + 1)) < 1e-12);
  assert.deepEqual(fitTfidf([...docs], { maxFeatures: 6, minDf: 2 }), v);
  const top2 = fitTfidf(docs, { maxFeatures: 2, minDf: 1 });
  assert.deepEqual(top2.vocabulary, ['film', 'great']);
  // 'story' and 'great' both have df 3: ascending term order puts 'great' first
  assert.deepEqual(fitTfidf(docs, { maxFeatures: 3, minDf: 1 }).vocabulary, ['film', 'great', 'story']);
});

test('transformTfidf: raw tf × idf, unit L2 norm, sorted indices, unknown terms ignored', () => {
  const v = fitTfidf(docs, { maxFeatures: 6, minDf: 2 });
  const r = transformTfidf(v, 'bad bad film unknownword');
  assert.deepEqual(Array.from(r.indices), [0, 3]);
  const a = 1 * v.idf[0], b = 2 * v.idf[3], n = Math.hypot(a, b);
  assert.ok(Math.abs(r.values[0] - a / n) < 1e-6 && Math.abs(r.values[1] - b / n) < 1e-6);
  const empty = transformTfidf(v, 'nothing known here');
  assert.equal(empty.indices.length, 0);
  assert.deepEqual(Array.from(densify([r, empty], 4)), [r.values[0], 0, 0, r.values[1], 0, 0, 0, 0]);
});
