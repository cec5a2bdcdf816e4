import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aeadOpen, aeadSeal, openStream, sealStream, streamNonce, StreamOpener } from './aead-stream.ts';
import { randomBytes } from './random.ts';
import { isErrorCode } from '../errors.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('aeadSeal matches the GCM spec test vectors 13 and 14 (AES-256, zero key and IV)', () => {
  const key = new Uint8Array(32);
  const iv = new Uint8Array(12);
  assert.equal(toHex(aeadSeal(key, iv, new Uint8Array(0))), '530f8afbc74536b9a963b4f1c4cb738b');
  assert.equal(toHex(aeadSeal(key, iv, new Uint8Array(16))), 'cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919');
});

test('aeadOpen round-trips and rejects every single-bit change of key, nonce, ciphertext, tag and AAD', () => {
  const key = randomBytes(32), nonce = randomBytes(12), aad = randomBytes(5), pt = randomBytes(40);
  const sealed = aeadSeal(key, nonce, pt, aad);
  assert.equal(sealed.byteLength, 56);
  assert.deepEqual(aeadOpen(key, nonce, sealed, aad), pt);
  const flip = (b: Uint8Array, i: number) => { const c = Uint8Array.from(b); c[i]! ^= 1; return c; };
  for (let i = 0; i < sealed.byteLength; i++) {
    assert.throws(() => aeadOpen(key, nonce, flip(sealed, i), aad), (e) => isErrorCode(e, 'AEAD_AUTH'), `byte ${i}`);
  }
  assert.throws(() => aeadOpen(flip(key, 31), nonce, sealed, aad), (e) => isErrorCode(e, 'AEAD_AUTH'));
  assert.throws(() => aeadOpen(key, flip(nonce, 0), sealed, aad), (e) => isErrorCode(e, 'AEAD_AUTH'));
  assert.throws(() => aeadOpen(key, nonce, sealed, flip(aad, 4)), (e) => isErrorCode(e, 'AEAD_AUTH'));
  assert.throws(() => aeadOpen(key, nonce, sealed.subarray(0, 15), aad), (e) => isErrorCode(e, 'AEAD_AUTH'));
  assert.throws(() => aeadSeal(new Uint8Array(16), nonce, pt), RangeError);
  assert.throws(() => aeadSeal(key, new Uint8Array(8), pt), RangeError);
});

test('streamNonce is prefix ‖ u32 BE counter ‖ last flag', () => {
  const prefix = hex('01020304050607');
  assert.equal(toHex(streamNonce(prefix, 0, false)), '010203040506070000000000');
  assert.equal(toHex(streamNonce(prefix, 0x0a0b0c0d, true)), '010203040506070a0b0c0d01');
  assert.throws(() => streamNonce(prefix, 2 ** 32, false), RangeError);
  assert.throws(() => streamNonce(new Uint8Array(8), 0, false), RangeError);
});

test('sealStream/openStream round-trip for sizes around chunk boundaries, including empty', () => {
  const key = randomBytes(32), aad = randomBytes(32);
  for (const size of [0, 1, 99, 100, 101, 300, 1000]) {
    const pt = randomBytes(size);
    const s = sealStream(key, pt, { aad, chunkSize: 100 });
    assert.equal(s.noncePrefix.byteLength, 7);
    assert.equal(s.chunks.length, Math.max(1, Math.ceil(size / 100)));
    assert.equal(s.chunks.reduce((n, c) => n + c.byteLength, 0), size + 16 * s.chunks.length);
    assert.deepEqual(openStream(key, s.noncePrefix, s.chunks, { aad }), pt);
  }
});

test('two seals of the same plaintext use different random nonce prefixes', () => {
  const key = randomBytes(32), pt = randomBytes(10);
  assert.notDeepEqual(sealStream(key, pt).noncePrefix, sealStream(key, pt).noncePrefix);
});

test('openStream rejects reordered, dropped, duplicated, truncated, extended chunks and wrong key/AAD/prefix', () => {
  const key = randomBytes(32), aad = randomBytes(32);
  const { noncePrefix, chunks } = sealStream(key, randomBytes(350), { aad, chunkSize: 100 }); // 4 chunks
  const [a, b, c, d] = chunks as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  const cases: [string, Uint8Array[], string][] = [
    ['swap 0,1', [b, a, c, d], 'chunk 0'],
    ['swap last two', [a, b, d, c], 'chunk 2'],
    ['drop middle', [a, c, d], 'chunk 1'],
    ['drop last (truncation)', [a, b, c], 'chunk 2'],
    ['drop first', [b, c, d], 'chunk 0'],
    ['duplicate', [a, a, b, c, d], 'chunk 1'],
    ['duplicate last', [a, b, c, d, d], 'chunk 3'],
    ['extend after last', [a, b, c, d, a], 'chunk 3'],
    ['empty', [], ''],
  ];
  for (const [what, list, where] of cases) {
    assert.throws(() => openStream(key, noncePrefix, list, { aad }), (e: Error) => {
      assert.ok(isErrorCode(e, 'STREAM_AUTH') || isErrorCode(e, 'STREAM_TRUNCATED'), `${what}: ${e.message}`);
      assert.ok(e.message.includes(where), `${what}: ${e.message}`);
      return true;
    }, what);
  }
  const wrongKey = randomBytes(32);
  assert.throws(() => openStream(wrongKey, noncePrefix, chunks, { aad }), /chunk 0/);
  assert.throws(() => openStream(key, noncePrefix, chunks, { aad: randomBytes(32) }), /chunk 0/);
  const p2 = Uint8Array.from(noncePrefix); p2[6]! ^= 0x80;
  assert.throws(() => openStream(key, p2, chunks, { aad }), /chunk 0/);
  const other = sealStream(key, randomBytes(350), { aad, chunkSize: 100 });
  assert.throws(() => openStream(key, noncePrefix, [a, other.chunks[1]!, c, d], { aad }), /chunk 1/, 'chunk from another stream');
});

test('StreamOpener opens incrementally, names the failing chunk, and refuses to continue after a failure', () => {
  const key = randomBytes(32), aad = randomBytes(3), pt = randomBytes(250);
  const { noncePrefix, chunks } = sealStream(key, pt, { aad, chunkSize: 100 });
  const o = new StreamOpener(key, noncePrefix, aad);
  const parts = chunks.map((c, i) => o.push(c, i === chunks.length - 1));
  o.finish();
  assert.equal(o.done, true);
  assert.deepEqual(Buffer.concat(parts), Buffer.from(pt));
  assert.throws(() => o.push(chunks[0]!, false), /already ended/);

  const t = new StreamOpener(key, noncePrefix, aad);
  t.push(chunks[0]!, false);
  assert.throws(() => t.finish(), (e) => isErrorCode(e, 'STREAM_TRUNCATED'));

  const f = new StreamOpener(key, noncePrefix, aad);
  f.push(chunks[0]!, false);
  assert.throws(() => f.push(chunks[1]!, true), (e: Error) => isErrorCode(e, 'STREAM_AUTH') && /chunk 1/.test(e.message), 'wrong last flag');
  assert.throws(() => f.push(chunks[1]!, false), /already failed/);
  assert.equal(f.index, 1);

  const g = new StreamOpener(key, noncePrefix, aad);
  g.push(chunks[0]!, false);
  g.push(chunks[1]!, false);
  assert.throws(() => g.push(chunks[2]!, false), /chunk 2/, 'last chunk claimed not last');
});

test('StreamOpener keeps its own key copy (caller may zeroize theirs)', () => {
  const key = randomBytes(32);
  const { noncePrefix, chunks } = sealStream(key, randomBytes(10));
  const o = new StreamOpener(key, noncePrefix);
  key.fill(0);
  assert.equal(o.push(chunks[0]!, true).byteLength, 10);
});
