import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { datasetsBase } from './dataset-dir.ts';
import { loadImdb } from './imdb.ts';

const dir = join(datasetsBase(), 'imdb');

test('loadImdb: the first rows of train.jsonl, verbatim, alternating positive and negative', { skip: !existsSync(dir) && 'needs ../shared/datasets/imdb' }, () => {
  const r = loadImdb('train', 6);
  assert.equal(r.length, 6);
  assert.deepEqual(r.map((x) => x.label), [1, 0, 1, 0, 1, 0]);
  assert.ok(r[0]!.text.startsWith('Bromwell High is a cartoon comedy.'), r[0]!.text.slice(0, 40));
  assert.equal(loadImdb('test').length, 25000);
});
