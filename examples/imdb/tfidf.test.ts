import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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

// The reference for step 3's f_classif selection is scikit-learn itself (Debian's python3-sklearn;
// .ci/run installs it): the same texts through TfidfVectorizer(ngram_range=(1, 2), min_df=2,
// dtype=float32) and SelectKBest(f_classif, k), compared column by column.
const SKLEARN = `
import json, sys
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.feature_selection import SelectKBest, f_classif
d = json.load(sys.stdin)
v = TfidfVectorizer(ngram_range=(1, 2), min_df=2, dtype=np.float32)
x = v.fit_transform(d['train'])
s = SelectKBest(f_classif, k=d['k']).fit(x, d['labels'])
names = v.get_feature_names_out()[s.get_support()]
rows = s.transform(v.transform(d['test'])).toarray()
print(json.dumps({'vocabulary': [str(n) for n in names], 'rows': rows.tolist()}))
`;

// Debian's python (its python3-sklearn), not whatever `python3` a version manager puts first on PATH.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

test("fitTfidf selection 'f_classif' equals scikit-learn's TfidfVectorizer + SelectKBest(f_classif)", (t) => {
  const probe = spawnSync(PYTHON, ['-c', 'import sklearn'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    t.skip('scikit-learn is not installed (Debian: apt-get install python3-sklearn; .ci/run installs it)');
    return;
  }
  // ASCII texts without HTML: where this pipeline's tokenizer and scikit-learn's \b\w\w+\b agree.
  const train = [
    'a great film with great acting', 'the story was great and the film was fun', 'fun film great cast and great story',
    'a wonderful story and a great cast', 'bad film with bad acting', 'the story was dull and the film was bad',
    'dull film bad cast and a dull story', 'a boring story and a bad cast', 'great fun', 'bad and dull',
  ];
  const labels = [1, 1, 1, 1, 0, 0, 0, 0, 1, 0];
  const test = ['great film but a dull story', 'bad bad acting', 'nothing here', 'the cast was great'];
  const k = 6;
  const ref = spawnSync(PYTHON, ['-c', SKLEARN], { input: JSON.stringify({ train, labels, test, k }), encoding: 'utf8' });
  assert.equal(ref.status, 0, ref.stderr);
  const want = JSON.parse(ref.stdout) as { vocabulary: string[]; rows: number[][] };
  const v = fitTfidf(train, { maxFeatures: k, minDf: 2, selection: 'f_classif', labels });
  assert.equal(v.version, 2);
  assert.deepEqual(v.vocabulary, want.vocabulary);
  const got = test.map((x) => Array.from(densify([transformTfidf(v, x)], k)));
  got.forEach((row, i) => row.forEach((g, j) => assert.ok(Math.abs(g - want.rows[i][j]) < 1e-6, `row ${i} column ${j}: ${g} vs scikit-learn ${want.rows[i][j]}`)));
  assert.ok(got.some((row) => row.some((x) => x > 0)), 'the reference rows are not all zero');
});
