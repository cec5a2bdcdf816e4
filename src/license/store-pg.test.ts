import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from '../crypto/index.ts';
import { encodeProviderKeyFile } from '../bundle/provider-key.ts';
import { licenseServerSuite } from './conformance.testkit.ts';
import { licenseHardeningSuite } from './hardening.testkit.ts';
import { openPgDb } from './store-pg.ts';
import { Fixture, TestEnclave, TEST_MRENCLAVE_HEX, testProviderKey } from './support.testkit.ts';

const url = process.env.ENCLAVE_NN_TEST_PG;
const SKIP = url ? false : 'needs ENCLAVE_NN_TEST_PG=postgres://… (scripts/with-postgres.sh starts one)';
licenseServerSuite('license server on PostgreSQL', () => openPgDb(url!), SKIP);
licenseHardeningSuite('license server on PostgreSQL', () => openPgDb(url!), SKIP);

test('two servers (two connection pools) on one PostgreSQL: concurrent top-ups of one license grant exactly its credits', { skip: SKIP }, async () => {
  const masterKey = randomBytes(32);
  const a = await Fixture.create(await openPgDb(url!), { masterKey });
  const b = await Fixture.create(await openPgDb(url!), { masterKey, chain: a.chain });
  try {
    const modelId = `two-servers-${process.pid}-${Date.now()}`;
    const key = testProviderKey(modelId);
    await a.call('POST', '/v1/admin/models', { providerKey: JSON.parse(new TextDecoder().decode(encodeProviderKeyFile(key))), policy: { mrEnclave: [TEST_MRENCLAVE_HEX], mrSigner: [], allowDebug: true, minIsvSvn: 0 } });
    await a.call('POST', '/v1/admin/customers', { id: modelId });
    const lic = await a.call('POST', '/v1/admin/licenses', { customerId: modelId, modelId, credits: 137, offline: { maxInferences: 7 } });
    const licenseId = lic.body.licenseId as string;
    const servers = [a, b];
    const enclaves = await Promise.all(Array.from({ length: 12 }, async (_, i) => {
      const s = servers[i % 2]!;
      const e = new TestEnclave(a.chain);
      const c = await s.call('POST', '/v1/challenge', { licenseId });
      const nonce = new Uint8Array(Buffer.from(c.body.nonce as string, 'base64url'));
      const at = e.attest(nonce);
      const p = await s.call('POST', '/v1/provision', { licenseId, nonce: c.body.nonce, evidence: Buffer.from(at.evidence).toString('base64url'), keyPub: Buffer.from(at.keyPub).toString('base64url') });
      assert.equal(p.status, 200, JSON.stringify(p.body));
      return e.provision({ modelId, nonce, evidence: at.evidence, wrapped: new Uint8Array(Buffer.from(p.body.wrapped as string, 'base64url')), providerKey: key.signingPublicKey, now: a.clock });
    }));
    let received = enclaves.reduce((n, e) => n + e.status().allowance, 0);
    for (let round = 0; round < 4; round++) {
      const rs = await Promise.all(enclaves.map((e, i) => {
        const left = e.status().remaining;
        if (left) e.admit(left, a.clock);
        return servers[(i + round) % 2]!.call('POST', '/v1/usage', { report: e.usageReport(a.clock) });
      }));
      rs.forEach((r, i) => { assert.equal(r.status, 200, JSON.stringify(r.body)); received += r.body.granted as number; enclaves[i]!.applyGrant(r.body.grant as string); });
    }
    // 12 × 7 = 84 wanted per round, 137 available: the license runs dry in round 1, exactly.
    assert.equal(received, 137);
    assert.equal(await a.store.ledgerTotal(licenseId), 137);
    assert.equal((await b.store.getLicense(licenseId))!.creditsAllocated, 137);
  } finally {
    await a.store.close();
    await b.store.close();
  }
});
