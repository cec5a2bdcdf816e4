import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from '../crypto/index.ts';
import { encodeProviderKeyFile } from '../bundle/provider-key.ts';
import { licenseServerSuite } from './conformance.testkit.ts';
import { licenseHardeningSuite } from './hardening.testkit.ts';
import { openPgDb } from './store-pg.ts';
import type { LicenseEnforcer } from '../enclave/trusted/enforcer.ts';
import { Fixture, TestEnclave, TEST_MRENCLAVE_HEX, testProviderKey } from './support.testkit.ts';

const url = process.env.ENCLAVE_NN_TEST_PG;
const SKIP = url ? false : 'needs ENCLAVE_NN_TEST_PG=postgres://… (scripts/with-postgres.sh starts one)';
licenseServerSuite('license server on PostgreSQL', () => openPgDb(url!), SKIP);
licenseHardeningSuite('license server on PostgreSQL', () => openPgDb(url!), SKIP);

/** `count` enclaves provisioned for `licenseId`, alternating between `servers`. */
async function provisioned(servers: Fixture[], licenseId: string, modelId: string, key: ReturnType<typeof testProviderKey>, count: number): Promise<LicenseEnforcer[]> {
  const a = servers[0]!;
  return Promise.all(Array.from({ length: count }, async (_, i) => {
    const s = servers[i % servers.length]!;
    const e = new TestEnclave(a.chain);
    const c = await s.call('POST', '/v1/challenge', { licenseId });
    const nonce = new Uint8Array(Buffer.from(c.body.nonce as string, 'base64url'));
    const at = e.attest(nonce);
    const p = await s.call('POST', '/v1/provision', { licenseId, nonce: c.body.nonce, evidence: Buffer.from(at.evidence).toString('base64url'), keyPub: Buffer.from(at.keyPub).toString('base64url') });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    return e.provision({ modelId, nonce, evidence: at.evidence, wrapped: new Uint8Array(Buffer.from(p.body.wrapped as string, 'base64url')), providerKey: key.signingPublicKey, now: a.clock });
  }));
}

/** Registers a model (its own key) with the test enclave's measurement, and a customer of the same name. */
async function registeredModel(a: Fixture, modelId: string): Promise<ReturnType<typeof testProviderKey>> {
  const key = testProviderKey(modelId);
  await a.call('POST', '/v1/admin/models', { providerKey: JSON.parse(new TextDecoder().decode(encodeProviderKeyFile(key))), policy: { mrEnclave: [TEST_MRENCLAVE_HEX], mrSigner: [], allowDebug: true, minIsvSvn: 0 } });
  await a.call('POST', '/v1/admin/customers', { id: modelId });
  return key;
}

/** One round: every enclave spends what it holds and checks in at once, alternating servers by round; returns the credits granted per enclave. */
async function checkInRound(servers: Fixture[], enclaves: LicenseEnforcer[], round: number): Promise<number[]> {
  const clock = servers[0]!.clock;
  const rs = await Promise.all(enclaves.map((e, i) => {
    const left = e.status().remaining;
    if (left) e.admit(left, clock);
    return servers[(i + round) % servers.length]!.call('POST', '/v1/usage', { report: e.usageReport(clock) });
  }));
  return rs.map((r, i) => { assert.equal(r.status, 200, JSON.stringify(r.body)); enclaves[i]!.applyGrant(r.body.grant as string); return r.body.granted as number; });
}

test('two servers (two connection pools) on one PostgreSQL: concurrent top-ups of one license grant exactly its credits', { skip: SKIP }, async () => {
  const masterKey = randomBytes(32);
  const a = await Fixture.create(await openPgDb(url!), { masterKey });
  const b = await Fixture.create(await openPgDb(url!), { masterKey, chain: a.chain });
  try {
    const modelId = `two-servers-${process.pid}-${Date.now()}`;
    const key = await registeredModel(a, modelId);
    const lic = await a.call('POST', '/v1/admin/licenses', { customerId: modelId, modelId, credits: 137, offline: { maxInferences: 7 } });
    const licenseId = lic.body.licenseId as string;
    const servers = [a, b];
    const enclaves = await provisioned(servers, licenseId, modelId, key, 12);
    let received = enclaves.reduce((n, e) => n + e.status().allowance, 0);
    for (let round = 0; round < 4; round++) received += (await checkInRound(servers, enclaves, round)).reduce((x, y) => x + y, 0);
    // 12 × 7 = 84 wanted per round, 137 available: the license runs dry in round 1, exactly.
    assert.equal(received, 137);
    assert.equal(await a.store.ledgerTotal(licenseId), 137);
    assert.equal((await b.store.getLicense(licenseId))!.creditsAllocated, 137);
  } finally {
    await a.store.close();
    await b.store.close();
  }
});

test('two servers, many licenses at once: batched check-ins grant each license exactly its credits, and nothing of another\'s', { skip: SKIP }, async () => {
  const masterKey = randomBytes(32);
  const a = await Fixture.create(await openPgDb(url!), { masterKey });
  const b = await Fixture.create(await openPgDb(url!), { masterKey, chain: a.chain });
  try {
    const servers = [a, b];
    const modelId = `many-licenses-${process.pid}-${Date.now()}`;
    const key = await registeredModel(a, modelId);
    // Six licenses of one model and customer, of different sizes; 4 enclaves each want 5 per round.
    const credits = [41, 53, 67, 29, 150, 17];
    const licenses = await Promise.all(credits.map(async (c) => (await a.call('POST', '/v1/admin/licenses', { customerId: modelId, modelId, credits: c, offline: { maxInferences: 5 } })).body.licenseId as string));
    const groups = await Promise.all(licenses.map((id) => provisioned(servers, id, modelId, key, 4)));
    const enclaves = groups.flat();
    const licenseOf = groups.flatMap((g, l) => g.map(() => l));
    const received = credits.map(() => 0);
    enclaves.forEach((e, i) => { received[licenseOf[i]!]! += e.status().allowance; });
    const before = { a: { ...a.store.stats }, b: { ...b.store.stats } };
    for (let round = 0; round < 5; round++) (await checkInRound(servers, enclaves, round)).forEach((g, i) => { received[licenseOf[i]!]! += g; });
    // 4 × 5 = 20 wanted per license and round, 6 rounds of grants in all (provision + 5): every
    // license but the largest runs dry, exactly at its credits; the largest gets all it asked.
    assert.deepEqual(received, credits.map((c) => Math.min(c, 4 * 5 * 6)));
    for (const [l, id] of licenses.entries()) {
      assert.equal(await a.store.ledgerTotal(id), received[l], `ledger of license ${l}`);
      assert.equal((await b.store.getLicense(id))!.creditsAllocated, received[l], `allocated on license ${l}`);
    }
    // 24 concurrent check-ins per round over 2 servers with 2 calls in flight each: some went together.
    const checkIns = a.store.stats.checkIns - before.a.checkIns + b.store.stats.checkIns - before.b.checkIns;
    const calls = a.store.stats.batches - before.a.batches + b.store.stats.batches - before.b.batches;
    assert.equal(checkIns, 5 * 24);
    assert.ok(calls < checkIns, `check-ins were batched: ${checkIns} check-ins in ${calls} database calls`);
  } finally {
    await a.store.close();
    await b.store.close();
  }
});
