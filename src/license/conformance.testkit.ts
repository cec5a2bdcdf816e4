/**
 * One conformance suite for the license server, run against every store engine (STYLE.md 9):
 * `store-pglite.test.ts` (embedded, always) and `store-pg.test.ts` (PostgreSQL, when
 * `ENCLAVE_NN_TEST_PG` is set). Everything goes through the HTTP handler in-process.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateEd25519KeyPair } from '../crypto/index.ts';
import { encodeProviderKeyFile } from '../bundle/provider-key.ts';
import { EnclaveNnError } from '../errors.ts';
import { LicenseEnforcer } from '../enclave/trusted/enforcer.ts';
import type { SqlDb } from './store.ts';
import { Fixture, TestEnclave, TEST_MRENCLAVE_HEX, testProviderKey } from './support.testkit.ts';
import { signLicense } from '../license-format/token.ts';

const fromB64u = (s: unknown): Uint8Array => new Uint8Array(Buffer.from(s as string, 'base64url'));
const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/** Registers the license server suite for one store engine; `skip` is false or the reason. */
export function licenseServerSuite(name: string, openDb: () => Promise<SqlDb>, skip: false | string): void {
  let fx: Fixture;
  let seq = 0;
  const uid = (p: string): string => `${p}-${process.pid}-${Date.now().toString(36)}-${seq++}`;

  before(async () => { if (!skip) fx = await Fixture.create(await openDb()); });
  after(async () => { if (!skip) await fx.store.close(); });

  /** Registers a model (production policy unless told), a customer and a license. */
  async function setup(o: { credits?: number; maxInferences?: number; allowDebug?: boolean; mrEnclave?: string[]; notAfter?: number } = {}) {
    const modelId = uid('model');
    const key = testProviderKey(modelId);
    const providerKey = JSON.parse(new TextDecoder().decode(encodeProviderKeyFile(key))) as unknown;
    const policy = { mrEnclave: o.mrEnclave ?? [TEST_MRENCLAVE_HEX], mrSigner: [], allowDebug: o.allowDebug ?? true, minIsvSvn: 0 };
    assert.equal((await fx.call('POST', '/v1/admin/models', { providerKey, policy })).status, 200);
    const customerId = uid('cust');
    assert.equal((await fx.call('POST', '/v1/admin/customers', { id: customerId, name: 'ACME' })).status, 200);
    const g = await fx.call('POST', '/v1/admin/licenses', {
      customerId, modelId, credits: o.credits ?? 100, offline: { maxInferences: o.maxInferences ?? o.credits ?? 100, maxSeconds: 86400 },
      ...(o.notAfter !== undefined ? { notAfter: o.notAfter } : {}),
    });
    assert.equal(g.status, 200, JSON.stringify(g.body));
    return { modelId, key, customerId, licenseId: g.body.licenseId as string, token: g.body.token as string };
  }

  async function provision(s: { licenseId: string; modelId: string; key: { signingPublicKey: Uint8Array } }, enclave = new TestEnclave(fx.chain)) {
    const c = await fx.call('POST', '/v1/challenge', { licenseId: s.licenseId });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    const nonce = fromB64u(c.body.nonce);
    const a = enclave.attest(nonce);
    const p = await fx.call('POST', '/v1/provision', { licenseId: s.licenseId, nonce: b64u(nonce), evidence: b64u(a.evidence), keyPub: b64u(a.keyPub) });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    const enforcer = enclave.provision({ modelId: s.modelId, nonce, evidence: a.evidence, wrapped: fromB64u(p.body.wrapped), providerKey: s.key.signingPublicKey, now: fx.clock });
    return { enclave, enforcer, nonce, attestation: a };
  }

  async function lastAudit(subject: string): Promise<{ outcome: string; code: string; reason: string; action: string }> {
    const r = await fx.call('GET', `/v1/admin/audit?subject=${encodeURIComponent(subject)}&limit=1`);
    return (r.body.audit as { outcome: string; code: string; reason: string; action: string }[])[0]!;
  }

  const t = (title: string, fn: () => Promise<void>) => test(`${name}: ${title}`, { skip }, fn);

  t('provision once, 100 offline inferences, the 101st fails with LICENSE_QUOTA; top-up after a purchase; no top-up after revocation', async () => {
    const s = await setup({ credits: 100 });
    const { enforcer, enclave } = await provision(s);
    assert.deepEqual(enclave.modelKey, s.key.modelKey, 'the enclave received the model key');
    // offline: counted per sample (a batch of 4 counts 4)
    for (let i = 0; i < 24; i++) enforcer.admit(4, fx.clock);
    for (let i = 0; i < 4; i++) enforcer.admit(1, fx.clock);
    assert.equal(enforcer.status().used, 100);
    assert.throws(() => enforcer.admit(1, fx.clock), (e: unknown) => e instanceof EnclaveNnError && e.code === 'LICENSE_QUOTA' && /quota exhausted/.test(e.message));
    // back online with no credits left: usage recorded, nothing granted, still exhausted
    let u = await fx.call('POST', '/v1/usage', { report: enforcer.usageReport(fx.clock) });
    assert.equal(u.status, 200);
    assert.equal(u.body.granted, 0);
    enforcer.applyGrant(u.body.grant as string);
    assert.throws(() => enforcer.admit(1, fx.clock), /quota exhausted/);
    // the customer buys 100 more: the next check-in restores service
    assert.equal((await fx.call('POST', `/v1/admin/licenses/${s.licenseId}/credits`, { credits: 100 })).status, 200);
    u = await fx.call('POST', '/v1/usage', { report: enforcer.usageReport(fx.clock) });
    assert.equal(u.status, 200, JSON.stringify(u.body));
    assert.equal(u.body.granted, 100);
    enforcer.applyGrant(u.body.grant as string);
    enforcer.admit(1, fx.clock);
    // revoked: the report is recorded, no grant
    assert.equal((await fx.call('POST', `/v1/admin/licenses/${s.licenseId}/revoke`, { reason: 'chargeback' })).status, 200);
    u = await fx.call('POST', '/v1/usage', { report: enforcer.usageReport(fx.clock) });
    assert.equal(u.status, 403);
    assert.equal((u.body.error as { code: string }).code, 'LICENSE_REVOKED');
    assert.equal(u.body.grant, undefined);
    const a = await lastAudit(s.licenseId);
    assert.deepEqual([a.outcome, a.code], ['refused', 'LICENSE_REVOKED']);
    // ledger: exactly 200 credits moved, and usage reported
    assert.equal(await fx.store.ledgerTotal(s.licenseId), 200);
    const usage = await fx.call('GET', `/v1/admin/usage?customer=${s.customerId}`);
    assert.deepEqual(usage.body.usage, [{ customerId: s.customerId, modelId: s.modelId, licenses: 1, creditsTotal: 200, creditsGranted: 200, used: 101, enclaves: 1 }]);
  });

  t('offline grace: a check-in is required after maxSeconds; credits above the grace come in top-ups', async () => {
    const s = await setup({ credits: 25, maxInferences: 10 });
    const { enforcer } = await provision(s);
    assert.equal(enforcer.status().allowance, 10);
    for (let i = 0; i < 10; i++) enforcer.admit(1, fx.clock);
    assert.throws(() => enforcer.admit(1, fx.clock), /quota exhausted/);
    const u = await fx.call('POST', '/v1/usage', { report: enforcer.usageReport(fx.clock) });
    enforcer.applyGrant(u.body.grant as string);
    assert.equal(enforcer.status().allowance, 20);
    assert.throws(() => enforcer.admit(1, fx.clock + 86401), (e: unknown) => (e as EnclaveNnError).code === 'LICENSE_OFFLINE');
    assert.throws(() => enforcer.applyGrant(u.body.grant as string), /replayed or stale/, 'a grant applies once');
  });

  t('refused with an audit entry: replayed nonce (once the enclave checked in; before, a retry is answered again: hardening.testkit.ts)', async () => {
    const s = await setup();
    const { nonce, attestation, enforcer } = await provision(s);
    assert.equal((await fx.call('POST', '/v1/usage', { report: enforcer.usageReport(fx.clock) })).status, 200);
    const r = await fx.call('POST', '/v1/provision', { licenseId: s.licenseId, nonce: b64u(nonce), evidence: b64u(attestation.evidence), keyPub: b64u(attestation.keyPub) });
    assert.equal(r.status, 409);
    assert.match((r.body.error as { message: string }).message, /already used \(replay\)/);
    const a = await lastAudit(s.licenseId);
    assert.deepEqual([a.action, a.outcome, a.code], ['provision', 'refused', 'PROVISION_NONCE']);
  });

  async function refusedProvision(s: { licenseId: string }, attest: (e: TestEnclave, nonce: Uint8Array) => { keyPub: Uint8Array; evidence: Uint8Array }, enclave = new TestEnclave(fx.chain)) {
    const c = await fx.call('POST', '/v1/challenge', { licenseId: s.licenseId });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    const nonce = fromB64u(c.body.nonce);
    const a = attest(enclave, nonce);
    const r = await fx.call('POST', '/v1/provision', { licenseId: s.licenseId, nonce: b64u(nonce), evidence: b64u(a.evidence), keyPub: b64u(a.keyPub) });
    const audit = await lastAudit(s.licenseId);
    assert.equal(audit.outcome, 'refused');
    assert.equal(audit.code, (r.body.error as { code: string }).code);
    return { status: r.status, code: (r.body.error as { code: string }).code, message: (r.body.error as { message: string }).message };
  }

  t('refused with an audit entry: a quote bound to another public key', async () => {
    const s = await setup();
    const other = new TestEnclave(fx.chain);
    const r = await refusedProvision(s, (e, nonce) => ({ keyPub: e.keys.publicKey, evidence: other.attest(nonce).evidence }));
    assert.deepEqual([r.status, r.code], [403, 'ATTEST_REPORTDATA']);
  });

  t('refused with an audit entry: an unknown measurement', async () => {
    const s = await setup({ mrEnclave: ['11'.repeat(32)] });
    const r = await refusedProvision(s, (e, nonce) => e.attest(nonce));
    assert.deepEqual([r.status, r.code], [403, 'ATTEST_POLICY_MRENCLAVE']);
  });

  t('refused with an audit entry: a debug quote under the production policy', async () => {
    const s = await setup({ allowDebug: false });
    const r = await refusedProvision(s, (e, nonce) => e.attest(nonce));
    assert.deepEqual([r.status, r.code], [403, 'ATTEST_POLICY_DEBUG']);
  });

  t('refused with an audit entry: an expired license (server), and the enclave stops at notAfter', async () => {
    const s = await setup({ notAfter: fx.clock + 1000 });
    const { enforcer } = await provision(s);
    assert.throws(() => enforcer.admit(1, fx.clock + 1001), (e: unknown) => (e as EnclaveNnError).code === 'LICENSE_EXPIRED');
    const saved = fx.clock;
    fx.clock += 1001;
    try {
      const c = await fx.call('POST', '/v1/challenge', { licenseId: s.licenseId });
      assert.equal(c.status, 403);
      assert.equal((c.body.error as { code: string }).code, 'LICENSE_EXPIRED');
      const a = await lastAudit(s.licenseId);
      assert.deepEqual([a.outcome, a.code], ['refused', 'LICENSE_EXPIRED']);
      const u = await fx.call('POST', '/v1/usage', { report: enforcer.usageReport(fx.clock) });
      assert.equal((u.body.error as { code: string }).code, 'LICENSE_EXPIRED');
    } finally {
      fx.clock = saved;
    }
  });

  t('refused with an audit entry: a forged license signature (server), and the enclave refuses it too', async () => {
    const s = await setup();
    const forger = generateEd25519KeyPair();
    const forged = signLicense({ licenseId: s.licenseId, modelId: s.modelId, customerId: s.customerId, notBefore: 0, notAfter: fx.clock + 1e9, credits: 1e9, offline: { maxInferences: 1e9, maxSeconds: 1e9 } }, forger.privateKey);
    const c = await fx.call('POST', '/v1/challenge', { license: forged.token });
    assert.equal(c.status, 403);
    assert.equal((c.body.error as { code: string }).code, 'LICENSE_INVALID');
    assert.match((c.body.error as { message: string }).message, /signature does not verify/);
    const a = await lastAudit(s.licenseId);
    assert.deepEqual([a.outcome, a.code], ['refused', 'LICENSE_INVALID']);
    assert.equal((await fx.call('POST', '/v1/challenge', { license: s.token })).status, 200, 'the genuine token is accepted');
    // enclave side: a state carrying the forged license does not restore
    const { enforcer } = await provision(s);
    const state = enforcer.exportState();
    const tampered = new TextEncoder().encode(new TextDecoder().decode(state.subarray(33)).replace(s.token, forged.token));
    const bad = new Uint8Array(33 + tampered.byteLength); bad.set(state.subarray(0, 33)); bad.set(tampered, 33);
    assert.throws(() => LicenseEnforcer.fromState(bad, { modelId: s.modelId, providerKey: s.key.signingPublicKey, now: fx.clock }), (e: unknown) => (e as EnclaveNnError).code === 'LICENSE_INVALID');
  });

  t('refused with an audit entry: a tampered usage report', async () => {
    const s = await setup();
    const { enforcer } = await provision(s);
    enforcer.admit(3, fx.clock);
    const report = enforcer.usageReport(fx.clock);
    const [body, sig] = report.split('.') as [string, string];
    const forgedBody = b64u(new TextEncoder().encode(new TextDecoder().decode(fromB64u(body)).replace('"used":3', '"used":1')));
    const r = await fx.call('POST', '/v1/usage', { report: `${forgedBody}.${sig}` });
    assert.equal(r.status, 403);
    assert.equal((r.body.error as { code: string }).code, 'USAGE_INVALID');
    const a = await lastAudit(s.licenseId);
    assert.deepEqual([a.outcome, a.code], ['refused', 'USAGE_INVALID']);
    assert.equal((await fx.call('POST', '/v1/usage', { report })).status, 200, 'the genuine report is accepted');
  });

  t('refused with an audit entry: a sequence-number rollback (an old sealed state replayed)', async () => {
    const s = await setup({ credits: 50, maxInferences: 10 });
    const { enforcer } = await provision(s);
    const old = enforcer.exportState();
    enforcer.admit(5, fx.clock);
    const r1 = await fx.call('POST', '/v1/usage', { report: enforcer.usageReport(fx.clock) });
    assert.equal(r1.status, 200);
    const rolledBack = LicenseEnforcer.fromState(old, { modelId: s.modelId, providerKey: s.key.signingPublicKey, now: fx.clock });
    const r2 = await fx.call('POST', '/v1/usage', { report: rolledBack.usageReport(fx.clock) });
    assert.equal(r2.status, 409);
    assert.equal((r2.body.error as { code: string }).code, 'USAGE_ROLLBACK');
    const a = await lastAudit(s.licenseId);
    assert.deepEqual([a.outcome, a.code], ['refused', 'USAGE_ROLLBACK']);
  });

  t('refused with an audit entry: a wrong admin token (and a missing one)', async () => {
    const r = await fx.call('GET', '/v1/admin/licenses', undefined, 'not-the-token');
    assert.equal(r.status, 401);
    assert.equal((r.body.error as { code: string }).code, 'ADMIN_AUTH');
    const a = await lastAudit('/v1/admin/licenses');
    assert.deepEqual([a.action, a.outcome, a.code], ['admin.auth', 'refused', 'ADMIN_AUTH']);
    assert.equal((await fx.call('POST', '/v1/admin/customers', { id: 'x' }, null)).status, 401);
  });

  t('junk is refused with a 4xx and a clear message, never a 5xx', async () => {
    const raw = await fx.server.handle({ method: 'POST', url: '/v1/provision', body: new TextEncoder().encode('{not json') });
    assert.equal(raw.status, 400);
    assert.match(JSON.stringify(raw.body), /body is not JSON/);
    const cases: [string, string, unknown, number, RegExp][] = [
      ['POST', '/v1/provision', { licenseId: 'lic-x', nonce: 'AA', evidence: 'AA', keyPub: 'AA' }, 400, /nonce is 1 bytes, not 32/],
      ['POST', '/v1/provision', { licenseId: '../etc', nonce: 'AA' }, 400, /licenseId must match/],
      ['POST', '/v1/usage', { report: 'garbage' }, 403, /expected 2 dot-separated parts/],
      ['POST', '/v1/usage', {}, 400, /report must be a string/],
      ['POST', '/v1/challenge', { licenseId: 'lic-does-not-exist' }, 404, /does not exist/],
      ['GET', '/v1/nothing-here', undefined, 404, /no such endpoint/],
      ['POST', '/v1/admin/licenses', { customerId: 'nobody', modelId: 'nothing', credits: -1 }, 400, /credits must be a non-negative integer/],
    ];
    for (const [method, url, body, status, re] of cases) {
      const r = await fx.call(method, url, body);
      assert.equal(r.status, status, `${method} ${url}: ${JSON.stringify(r.body)}`);
      assert.match((r.body.error as { message: string }).message, re);
    }
  });

  t('model secrets are encrypted at rest under the master key', async () => {
    const s = await setup();
    const m = await fx.store.getModel(s.modelId);
    const hay = Buffer.from(m!.secrets).toString('hex');
    assert.ok(!hay.includes(Buffer.from(s.key.modelKey).toString('hex')));
    assert.ok(!hay.includes(Buffer.from(s.key.signingKey).toString('hex')));
  });

  t('no double spend: 40 concurrent top-ups on one license grant exactly its credits', async () => {
    const s = await setup({ credits: 100, maxInferences: 5 });
    const enforcers: LicenseEnforcer[] = [];
    for (let i = 0; i < 8; i++) enforcers.push((await provision(s)).enforcer);
    // 8 × 5 = 40 given at provisioning; 60 left for 40 concurrent top-ups of up to 5 each.
    let granted = 0;
    for (let round = 0; round < 5; round++) {
      for (const e of enforcers) { const left = e.status().remaining; if (left) e.admit(left, fx.clock); }
      const rs = await Promise.all(enforcers.map((e) => fx.call('POST', '/v1/usage', { report: e.usageReport(fx.clock) })));
      rs.forEach((r, i) => { assert.equal(r.status, 200); granted += r.body.granted as number; enforcers[i]!.applyGrant(r.body.grant as string); });
    }
    assert.equal(granted + 40, 100);
    assert.equal(await fx.store.ledgerTotal(s.licenseId), 100);
    assert.equal((await fx.store.getLicense(s.licenseId))!.creditsAllocated, 100);
  });
}
