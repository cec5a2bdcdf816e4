import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportP256PrivateKeyPem, generateP256KeyPair, importP256PrivateKeyPem, p256PublicKeyOf, signP256Sha256, verifyP256Sha256 } from './ecdsa.ts';

test('generateP256KeyPair: the public key is the private key\'s point, signatures verify with it, pairs are fresh', () => {
  const msg = new TextEncoder().encode('enclave-nn');
  const seen = new Set<string>();
  // 1500 pairs: about one scalar in 256 has a leading zero byte, which the key must keep (P ≈ 0.997
  // that one is among them).
  for (let i = 0; i < 1500; i++) {
    const { privateKey, publicKey } = generateP256KeyPair();
    assert.equal(publicKey.byteLength, 64);
    assert.deepEqual(p256PublicKeyOf(privateKey), publicKey);
    seen.add(Buffer.from(publicKey).toString('hex'));
    // A signature checks the scalar itself (the key object keeps the point it was given).
    assert.ok(verifyP256Sha256(msg, signP256Sha256(msg, privateKey), publicKey), `pair ${i}: the signature does not verify`);
    if (i < 20) assert.deepEqual(p256PublicKeyOf(importP256PrivateKeyPem(exportP256PrivateKeyPem(privateKey))), publicKey);
  }
  assert.equal(seen.size, 1500);
});
