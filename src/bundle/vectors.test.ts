import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { sha256 } from '../crypto/index.ts';
import { EnclaveNnError } from '../errors.ts';
import { readBundle } from './read.ts';
import { openSealedTail } from './tail.ts';
import { buildVectors, decodeVector, encodeVector, EXPECT_BY_CODE, type Expect } from './vectors.testkit.ts';
import { PREFIX_SIZE, SIGNATURE_SIZE } from './format.ts';

const dir = new URL('../../testdata/vectors/bundle/', import.meta.url);

/** Reads a bundle and opens its tail; the outcome as a vector category, the code and the tail. */
function outcome(bundle: Uint8Array, modelKey: Uint8Array): { expect: Expect; code?: string; message?: string; tail?: Uint8Array } {
  try {
    const b = readBundle(bundle, { path: 'vector.enn' });
    return { expect: 'success', tail: Uint8Array.from(openSealedTail(b, modelKey)) };
  } catch (e) {
    if (!(e instanceof EnclaveNnError)) throw e;
    const expect = EXPECT_BY_CODE[e.code];
    assert.ok(expect, `unexpected error code ${e.code}: ${e.message}`);
    assert.match(e.message, /^Cannot open bundle vector\.enn: \S/);
    return { expect, code: e.code, message: e.message };
  }
}

const files = existsSync(dir) ? readdirSync(dir).filter((f) => !f.includes('.')).sort() : [];

test('every committed vector file gives its expected outcome', () => {
  assert.ok(files.length >= 50, `expected the committed vectors in ${dir.pathname}`);
  const seen = new Set<Expect>();
  for (const f of files) {
    const v = decodeVector(f, readFileSync(new URL(f, dir)));
    const got = outcome(v.bundle, v.modelKey);
    assert.equal(got.expect, v.expect, `${f}: ${got.message ?? 'success'}`);
    assert.equal(got.code, v.code, `${f}: ${got.message ?? 'success'}`);
    if (v.expect === 'success') assert.deepEqual(sha256(got.tail!), v.tailSha256, `${f}: tail hash`);
    seen.add(v.expect);
  }
  assert.deepEqual([...seen].sort(), ['head-failure', 'header-failure', 'key-failure', 'payload-failure', 'success', 'trailing', 'truncated']);
});

test('the committed vectors are exactly what the generator builds (deterministic) and small', () => {
  const built = buildVectors();
  assert.deepEqual(built.map((v) => v.name).sort(), files);
  let total = 0;
  for (const v of built) {
    const file = readFileSync(new URL(v.name, dir));
    total += file.byteLength;
    assert.ok(Buffer.from(encodeVector(v)).equals(file), `${v.name} differs from the generator; run npx tsx src/bundle/vectors.testkit.ts --write`);
  }
  assert.ok(total < 200_000, `vectors total ${total} bytes`);
});

test('flipping ANY single byte of a bundle fails, with an error naming the region', () => {
  const v = buildVectors().find((x) => x.name === 'success-basic')!;
  const b = v.bundle;
  const h = new DataView(b.buffer, b.byteOffset).getUint32(12, false);
  const sigEnd = PREFIX_SIZE + h + SIGNATURE_SIZE;
  const header = JSON.parse(new TextDecoder().decode(b.subarray(PREFIX_SIZE, PREFIX_SIZE + h))) as { head: { size: number }; tail: { chunkSize: number } };
  const headEnd = sigEnd + header.head.size;
  for (let i = 0; i < b.byteLength; i++) {
    const c = Uint8Array.from(b);
    c[i]! ^= 1 << (i % 8);
    const got = outcome(c, v.modelKey);
    const where = `byte ${i} (${got.message})`;
    if (i < PREFIX_SIZE) assert.ok(['header-failure', 'truncated'].includes(got.expect), where);
    else if (i < sigEnd) assert.match(got.code ?? '', /^BUNDLE_HEADER/, where);
    else if (i < headEnd) assert.equal(got.code, 'BUNDLE_HEAD_HASH', where);
    else {
      assert.equal(got.code, 'BUNDLE_TAIL_DECRYPT', where);
      const chunk = Math.floor((i - headEnd) / (header.tail.chunkSize + 16));
      assert.match(got.message!, new RegExp(`chunk ${chunk} of 4 `), where);
    }
  }
});

test('truncating a bundle at any length fails as truncated', () => {
  const v = buildVectors().find((x) => x.name === 'success-basic')!;
  for (let n = 0; n < v.bundle.byteLength; n += 7) {
    const got = outcome(v.bundle.subarray(0, n), v.modelKey);
    assert.equal(got.code, 'BUNDLE_TRUNCATED', `cut at ${n}: ${got.message}`);
  }
});

test('a bundle of 64 KiB chunks (the default until 1 MiB): sampled byte flips in every region and at every boundary fail by region', async () => {
  const { createBundle } = await import('./create.ts');
  const spec = [{ name: 'x', dtype: 'float32' as const, shape: [1] }];
  const tail = new Uint8Array(150_000).map((_, i) => i * 7);
  const { bytes, providerKey } = createBundle({ head: new Uint8Array(3000).fill(5), tail, inputs: spec, outputs: spec, headInputs: spec, chunkSize: 64 * 1024 });
  const b = readBundle(bytes);
  const sigEnd = PREFIX_SIZE + b.headerBytes.byteLength + SIGNATURE_SIZE;
  const headEnd = sigEnd + b.head.byteLength;
  const chunkStarts = b.sealedTail.chunks.map((c) => c.byteOffset - bytes.byteOffset);
  assert.equal(b.sealedTail.chunks.length, 4); // 256 KiB bucket
  const positions = new Set<number>([0, 7, 8, 11, 12, 15, PREFIX_SIZE, sigEnd - SIGNATURE_SIZE - 1, sigEnd - SIGNATURE_SIZE, sigEnd - 1, sigEnd, headEnd - 1, bytes.byteLength - 1]);
  for (const s of chunkStarts) for (const d of [-17, -16, -1, 0, 1, 65535, 65536]) positions.add(s + d);
  for (let i = 0; i < bytes.byteLength; i += 4099) positions.add(i);
  for (const i of [...positions].filter((p) => p >= 0 && p < bytes.byteLength)) {
    const c = Uint8Array.from(bytes);
    c[i]! ^= 0x40;
    const got = outcome(c, providerKey.modelKey);
    if (i < sigEnd) assert.equal(got.expect === 'header-failure' || got.expect === 'truncated', true, `byte ${i}: ${got.message}`);
    else if (i < headEnd) assert.equal(got.code, 'BUNDLE_HEAD_HASH', `byte ${i}`);
    else {
      const chunk = chunkStarts.filter((s) => s <= i).length - 1;
      assert.equal(got.code, 'BUNDLE_TAIL_DECRYPT', `byte ${i}`);
      assert.match(got.message!, new RegExp(`chunk ${chunk} of 4 `), `byte ${i}`);
    }
  }
  assert.deepEqual(outcome(bytes, providerKey.modelKey).tail, tail);
});
