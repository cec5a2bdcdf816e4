/**
 * The production path with real SGX quotes (../shared/attestation): the license server pins the
 * Intel SGX Root CA, so real quotes pass the chain and reach the policy and binding checks — and
 * are refused there, with an audit entry, because none was made for this server's nonce.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { INTEL_SGX_ROOT_CA } from '../attest/roots.ts';
import { REAL_QUOTES, REAL_QUOTE_TIME, SKIP_REASON, sharedFile } from '../attest/material.testkit.ts';
import { encodeProviderKeyFile } from '../bundle/provider-key.ts';
import { generateX25519KeyPair } from '../crypto/index.ts';
import { openPgliteDb } from './store-pglite.ts';
import { Fixture, testProviderKey } from './support.testkit.ts';

let fx: Fixture;
let n = 0;
before(async () => { if (!SKIP_REASON) { fx = await Fixture.create(await openPgliteDb(), { roots: [INTEL_SGX_ROOT_CA] }); fx.clock = Math.floor(REAL_QUOTE_TIME.getTime() / 1000); } });
after(async () => { if (!SKIP_REASON) await fx.store.close(); });

async function provisionWith(file: string, policy: { mrEnclave: string[]; allowDebug: boolean }): Promise<{ status: number; code: string; audit: string }> {
  const modelId = `real-${file.replace(/\W/g, '-')}-${n++}`;
  const key = testProviderKey(modelId);
  assert.equal((await fx.call('POST', '/v1/admin/models', { providerKey: JSON.parse(new TextDecoder().decode(encodeProviderKeyFile(key))), policy: { ...policy, mrSigner: [], minIsvSvn: 0 } })).status, 200);
  if (n === 1) await fx.call('POST', '/v1/admin/customers', { id: 'real' });
  const lic = await fx.call('POST', '/v1/admin/licenses', { customerId: 'real', modelId, credits: 10 });
  const licenseId = lic.body.licenseId as string;
  const c = await fx.call('POST', '/v1/challenge', { licenseId });
  const r = await fx.call('POST', '/v1/provision', {
    licenseId, nonce: c.body.nonce, evidence: Buffer.from(sharedFile(file)).toString('base64url'), keyPub: Buffer.from(generateX25519KeyPair().publicKey).toString('base64url'),
  });
  const a = await fx.call('GET', `/v1/admin/audit?subject=${licenseId}&limit=1`);
  return { status: r.status, code: (r.body.error as { code: string }).code, audit: ((a.body.audit as { code: string }[])[0]!).code };
}

test('a real production quote chains to the pinned Intel root, then fails the nonce binding (not made for this challenge)', { skip: SKIP_REASON }, async () => {
  const q = REAL_QUOTES[0];
  assert.deepEqual(await provisionWith(q.file, { mrEnclave: [q.mrEnclave], allowDebug: false }), { status: 403, code: 'ATTEST_REPORTDATA', audit: 'ATTEST_REPORTDATA' });
  assert.deepEqual(await provisionWith(q.file, { mrEnclave: ['00'.repeat(32)], allowDebug: false }), { status: 403, code: 'ATTEST_POLICY_MRENCLAVE', audit: 'ATTEST_POLICY_MRENCLAVE' });
});

test('a real debug quote is refused by the production policy', { skip: SKIP_REASON }, async () => {
  const q = REAL_QUOTES[2];
  assert.deepEqual(await provisionWith(q.file, { mrEnclave: [q.mrEnclave], allowDebug: false }), { status: 403, code: 'ATTEST_POLICY_DEBUG', audit: 'ATTEST_POLICY_DEBUG' });
  assert.equal((await provisionWith(q.file, { mrEnclave: [q.mrEnclave], allowDebug: true })).code, 'ATTEST_REPORTDATA', 'with debug allowed it gets as far as the binding');
});
