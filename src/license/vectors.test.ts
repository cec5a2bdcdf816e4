import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { buildVectors, decodeVector, encodeVector, runVector } from './vectors.testkit.ts';

const dir = new URL('../../testdata/vectors/license/', import.meta.url);
const files = existsSync(dir) ? readdirSync(dir).filter((f) => !f.includes('.')).sort() : [];

test('every committed license vector gives its expected outcome and code', () => {
  assert.ok(files.length >= 20, `expected the committed vectors in ${dir.pathname}`);
  for (const f of files) {
    const v = decodeVector(f, readFileSync(new URL(f, dir), 'utf8'));
    assert.deepEqual(runVector(v), { expect: v.expect, ...(v.code ? { code: v.code } : {}) }, `${f}: ${v.comment}`);
  }
});

test('the committed vectors are exactly what the generator makes (npx tsx src/license/vectors.testkit.ts --write)', () => {
  const built = buildVectors();
  assert.deepEqual(files, built.map((v) => v.name).sort());
  for (const v of built) assert.equal(readFileSync(new URL(v.name, dir), 'utf8'), encodeVector(v), v.name);
});
