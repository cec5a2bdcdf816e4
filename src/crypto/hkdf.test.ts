import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hkdfSha256, LABEL_BUNDLE_HEADER_SIGNATURE, LABEL_KEY_COMMITMENT, LABEL_KEY_WRAP, LABEL_SEAL, LABEL_TAIL_CHUNK } from './hkdf.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

test('hkdfSha256 matches RFC 5869 test case 1', () => {
  const okm = hkdfSha256(hex('0b'.repeat(22)), hex('000102030405060708090a0b0c'),
    ['', hex('f0f1f2f3f4f5f6f7f8f9')], 42);
  assert.equal(Buffer.from(okm).toString('hex'),
    '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
});

test('hkdfSha256: label string equals label bytes; labels and context separate keys', () => {
  const ikm = hex('11'.repeat(32)), salt = new Uint8Array(0);
  assert.deepEqual(hkdfSha256(ikm, salt, LABEL_KEY_WRAP, 32), hkdfSha256(ikm, salt, [LABEL_KEY_WRAP], 32));
  assert.notDeepEqual(hkdfSha256(ikm, salt, LABEL_KEY_WRAP, 32), hkdfSha256(ikm, salt, LABEL_SEAL, 32));
  assert.notDeepEqual(hkdfSha256(ikm, salt, [LABEL_KEY_WRAP, hex('01')], 32), hkdfSha256(ikm, salt, [LABEL_KEY_WRAP, hex('02')], 32));
  assert.throws(() => hkdfSha256(ikm, salt, LABEL_SEAL, 0), RangeError);
});

test('labels are distinct and versioned', () => {
  const labels = [LABEL_TAIL_CHUNK, LABEL_KEY_COMMITMENT, LABEL_KEY_WRAP, LABEL_SEAL, LABEL_BUNDLE_HEADER_SIGNATURE];
  assert.equal(new Set(labels).size, labels.length);
  for (const l of labels) assert.match(l, /^enclave-nn\/v1\/[a-z-]+$/);
  assert.equal(LABEL_KEY_WRAP, 'enclave-nn/v1/key-wrap');
  assert.equal(LABEL_SEAL, 'enclave-nn/v1/seal');
});
