import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concatBytes, sha256, sha512, timingSafeEqual } from './hash.ts';
import { randomBytes } from './random.ts';
import { isAllZero, zeroize } from './zeroize.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('sha256 and sha512 of "abc" (FIPS 180-2 examples)', () => {
  assert.equal(toHex(sha256(enc('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(toHex(sha512(enc('abc'))).slice(0, 32), 'ddaf35a193617abacc417349ae204131');
  assert.equal(sha512(enc('abc')).byteLength, 64);
});

test('timingSafeEqual: equal, one bit different, different lengths', () => {
  const a = randomBytes(32);
  assert.equal(timingSafeEqual(a, Uint8Array.from(a)), true);
  const b = Uint8Array.from(a); b[17]! ^= 4;
  assert.equal(timingSafeEqual(a, b), false);
  assert.equal(timingSafeEqual(a, a.subarray(1)), false);
});

test('randomBytes gives n fresh bytes; zeroize wipes in place; concatBytes joins', () => {
  assert.equal(randomBytes(0).byteLength, 0);
  const r = randomBytes(64);
  assert.equal(r.byteLength, 64);
  assert.notDeepEqual(r, randomBytes(64));
  assert.throws(() => randomBytes(-1), RangeError);
  const s = Uint8Array.from(r);
  const view = s.subarray(8, 16);
  zeroize(view, undefined);
  assert.ok(view.every((x) => x === 0));
  assert.deepEqual(s.subarray(0, 8), r.subarray(0, 8));
  assert.deepEqual(concatBytes(enc('ab'), enc(''), enc('c')), enc('abc'));
});

test('isAllZero: true for zeros (and nothing), false for one non-zero byte anywhere, across its 64 KiB blocks', () => {
  assert.equal(isAllZero(new Uint8Array(0)), true);
  const n = 3 * 65536 + 17;
  assert.equal(isAllZero(new Uint8Array(n)), true);
  for (const at of [0, 1, 65535, 65536, 2 * 65536 + 5, n - 1]) {
    const b = new Uint8Array(n);
    b[at] = 0x80;
    assert.equal(isAllZero(b), false, `non-zero byte at ${at}`);
    assert.equal(isAllZero(b.subarray(at + 1)), true, `a view after it, at ${at + 1}`);
  }
});
