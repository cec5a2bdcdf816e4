import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519PublicKeyOf, ed25519Sign, ed25519Verify, generateEd25519KeyPair } from './ed25519.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('Ed25519 matches RFC 8032 §7.1 test 1', () => {
  const seed = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
  const pub = ed25519PublicKeyOf(seed);
  assert.equal(toHex(pub), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
  const sig = ed25519Sign(seed, new Uint8Array(0));
  assert.equal(toHex(sig), 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b');
  assert.equal(ed25519Verify(pub, new Uint8Array(0), sig), true);
});

test('Ed25519 sign/verify round-trip; any modified message, signature or key fails', () => {
  const { publicKey, privateKey } = generateEd25519KeyPair();
  assert.equal(publicKey.byteLength, 32);
  assert.equal(privateKey.byteLength, 32);
  const msg = new TextEncoder().encode('header bytes');
  const sig = ed25519Sign(privateKey, msg);
  assert.equal(ed25519Verify(publicKey, msg, sig), true);
  for (let i = 0; i < 64; i += 7) {
    const s = Uint8Array.from(sig); s[i]! ^= 1;
    assert.equal(ed25519Verify(publicKey, msg, s), false, `sig byte ${i}`);
  }
  const m = Uint8Array.from(msg); m[0]! ^= 1;
  assert.equal(ed25519Verify(publicKey, m, sig), false);
  assert.equal(ed25519Verify(generateEd25519KeyPair().publicKey, msg, sig), false);
  assert.equal(ed25519Verify(publicKey, msg, sig.subarray(0, 63)), false);
  assert.equal(ed25519Verify(publicKey.subarray(1), msg, sig), false);
  assert.throws(() => ed25519Sign(new Uint8Array(31), msg), RangeError);
});
