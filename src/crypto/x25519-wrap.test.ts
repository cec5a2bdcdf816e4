import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateX25519KeyPair, unwrapWithX25519, wrapToX25519, x25519PublicKeyOf, X25519_WRAP_OVERHEAD } from './x25519-wrap.ts';
import { randomBytes } from './random.ts';
import { isErrorCode } from '../errors.ts';

const isWrapError = (e: unknown) => isErrorCode(e, 'KEY_WRAP');

test('wrapToX25519 round-trips; layout is eph pub ‖ nonce ‖ ct ‖ tag; each wrap is fresh', () => {
  const { publicKey, privateKey } = generateX25519KeyPair();
  assert.equal(publicKey.byteLength, 32);
  assert.deepEqual(x25519PublicKeyOf(privateKey), publicKey);
  const key = randomBytes(32), transcript = randomBytes(100);
  const w = wrapToX25519(publicKey, key, transcript);
  assert.equal(w.byteLength, 32 + X25519_WRAP_OVERHEAD);
  assert.deepEqual(unwrapWithX25519(privateKey, w, transcript), key);
  const w2 = wrapToX25519(publicKey, key, transcript);
  assert.notDeepEqual(w2.subarray(0, 32), w.subarray(0, 32), 'fresh ephemeral key per wrap');
  assert.deepEqual(unwrapWithX25519(privateKey, w2, transcript), key);
});

test('unwrapWithX25519 rejects another recipient, another transcript, and every modified byte', () => {
  const r = generateX25519KeyPair(), other = generateX25519KeyPair();
  const key = randomBytes(32), transcript = randomBytes(40);
  const w = wrapToX25519(r.publicKey, key, transcript);
  assert.throws(() => unwrapWithX25519(other.privateKey, w, transcript), isWrapError);
  const t2 = Uint8Array.from(transcript); t2[0]! ^= 1;
  assert.throws(() => unwrapWithX25519(r.privateKey, w, t2), isWrapError);
  for (let i = 0; i < w.byteLength; i++) {
    const c = Uint8Array.from(w); c[i]! ^= 0x10;
    assert.throws(() => unwrapWithX25519(r.privateKey, c, transcript), isWrapError, `byte ${i}`);
  }
  assert.throws(() => unwrapWithX25519(r.privateKey, w.subarray(0, X25519_WRAP_OVERHEAD - 1), transcript), isWrapError);
});

test('wrapToX25519 refuses low-order public keys (all-zero shared secret) and wrong sizes', () => {
  assert.throws(() => wrapToX25519(new Uint8Array(32), randomBytes(32), new Uint8Array(0)), isWrapError);
  const one = new Uint8Array(32); one[0] = 1;
  assert.throws(() => wrapToX25519(one, randomBytes(32), new Uint8Array(0)), isWrapError);
  assert.throws(() => wrapToX25519(new Uint8Array(31), randomBytes(32), new Uint8Array(0)), RangeError);
});

test('unwrap fails when only the ignored top bit of the ephemeral key flips, or the key is low-order (docs/crypto.md §4)', () => {
  const r = generateX25519KeyPair();
  const transcript = randomBytes(8);
  const w = wrapToX25519(r.publicKey, randomBytes(32), transcript);
  const top = Uint8Array.from(w); top[31]! ^= 0x80;
  assert.throws(() => unwrapWithX25519(r.privateKey, top, transcript), isWrapError);
  const zero = Uint8Array.from(w); zero.fill(0, 0, 32);
  assert.throws(() => unwrapWithX25519(r.privateKey, zero, transcript), (e: Error) => isWrapError(e) && /low order|invalid/.test(e.message));
});
