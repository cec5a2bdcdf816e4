/**
 * The license server's second conformance suite (run against every store engine, like
 * conformance.ts): air-gapped fulfilment that forgives a refusal, idempotent provisioning
 * retries, checks that once had no test of their own (the issued token, the sequence number),
 * TCB and revocation under a collateral-checked root, and the cost caps of §8.3.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { makeWorld, NOW } from '../attest/world.testkit.ts';
import { encodeProviderKeyFile } from '../bundle/provider-key.ts';
import { randomBytes } from '../crypto/index.ts';
import type { CollateralSource } from './collateral-dir.ts';
import { LicenseEnforcer } from '../enclave/trusted/enforcer.ts';
import { ANONYMOUS_AUDIT_WINDOW_SECONDS, type LicenseRequest } from './service.ts';
import type { SqlDb } from './store.ts';
import { Fixture, TestEnclave, TEST_MRENCLAVE_HEX, testProviderKey } from './support.testkit.ts';
import { signLicense } from '../license-format/token.ts';

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const fromB64u = (s: unknown): Uint8Array => new Uint8Array(Buffer.from(s as string, 'base64url'));
type Err = { code: string; message: string };
const err = (body: Record<string, unknown>): Err => body.error as Err;

/** Registers the suite for one store engine; `skip` is false or the reason. */
export function licenseHardeningSuite(name: string, openDb: () => Promise<SqlDb>, skip: false | string): void {
  let fx: Fixture;
  let seq = 0;
  const uid = (p: string): string => `${p}-${process.pid}-${Date.now().toString(36)}-${seq++}`;
  const t = (title: string, fn: () => Promise<void>) => test(`${name}: ${title}`, { skip }, fn);

  before(async () => { if (!skip) fx = await Fixture.create(await openDb()); });
  after(async () => { if (!skip) await fx.store.close(); });

  async function setup(f: Fixture, o: { notBefore?: number; credits?: number; maxInferences?: number; policy?: Record<string, unknown> } = {}) {
    const modelId = uid('model');
    const key = testProviderKey(modelId);
    const providerKey = JSON.parse(new TextDecoder().decode(encodeProviderKeyFile(key))) as unknown;
    const policy = { mrEnclave: [TEST_MRENCLAVE_HEX], mrSigner: [], allowDebug: true, minIsvSvn: 0, ...o.policy };
    assert.equal((await f.call('POST', '/v1/admin/models', { providerKey, policy })).status, 200);
    const customerId = uid('cust');
    assert.equal((await f.call('POST', '/v1/admin/customers', { id: customerId })).status, 200);
    const g = await f.call('POST', '/v1/admin/licenses', {
      customerId, modelId, credits: o.credits ?? 100, offline: { maxInferences: o.maxInferences ?? 10, maxSeconds: 86400 },
      ...(o.notBefore !== undefined ? { notBefore: o.notBefore, notAfter: o.notBefore + 86400 } : {}),
    });
    assert.equal(g.status, 200, JSON.stringify(g.body));
    return { modelId, key, customerId, licenseId: g.body.licenseId as string, token: g.body.token as string };
  }

  /** An air-gapped request as `license request` writes it (without the sealed pending key). */
  function request(s: { licenseId: string; modelId: string }, enclave = new TestEnclave(fx.chain)): { req: LicenseRequest; enclave: TestEnclave; nonce: Uint8Array } {
    // 32 random bytes, as the requesting host draws them.
    const nonce = randomBytes(32);
    const a = enclave.attest(nonce);
    return { req: { type: 'enclave-nn-license-request', version: 1, licenseId: s.licenseId, modelId: s.modelId, nonce: b64u(nonce), keyPub: b64u(a.keyPub), evidence: b64u(a.evidence) }, enclave, nonce };
  }

  async function lastAudit(f: Fixture, subject: string): Promise<{ outcome: string; code: string; reason: string; action: string }> {
    const r = await f.call('GET', `/v1/admin/audit?subject=${encodeURIComponent(subject)}&limit=1`);
    return (r.body.audit as { outcome: string; code: string; reason: string; action: string }[])[0]!;
  }

  async function challengeAndAttest(f: Fixture, s: { licenseId: string }, enclave: TestEnclave) {
    const c = await f.call('POST', '/v1/challenge', { licenseId: s.licenseId });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    const nonce = fromB64u(c.body.nonce);
    const a = enclave.attest(nonce);
    return { nonce, a, body: { licenseId: s.licenseId, nonce: b64u(nonce), evidence: b64u(a.evidence), keyPub: b64u(a.keyPub) } };
  }

  // ── air-gapped fulfilment (issue 13 item 3) ─────────────────────────────────────────────

  t('fulfil: a refused request keeps its nonce, so the same request is fulfilled once the cause is gone', async () => {
    const s = await setup(fx, { notBefore: fx.clock + 1000 });
    const { req, enclave, nonce } = request(s);
    const r1 = await fx.call('POST', '/v1/admin/fulfill', { request: req });
    assert.deepEqual([r1.status, err(r1.body).code], [403, 'LICENSE_NOT_YET_VALID']);
    assert.deepEqual([(await lastAudit(fx, s.licenseId)).outcome, (await lastAudit(fx, s.licenseId)).code], ['refused', 'LICENSE_NOT_YET_VALID']);
    fx.clock += 1000;
    try {
      // Another refusal (the request names another model) keeps the nonce too, and moves no credits.
      const r2 = await fx.call('POST', '/v1/admin/fulfill', { request: { ...req, modelId: 'some-other-model' } });
      assert.equal(err(r2.body).code, 'LICENSE_MODEL');
      assert.equal((await fx.store.getLicense(s.licenseId))!.creditsAllocated, 0);
      const r3 = await fx.call('POST', '/v1/admin/fulfill', { request: req });
      assert.equal(r3.status, 200, JSON.stringify(r3.body));
      assert.equal(r3.body.allowance, 10);
      const e = enclave.provision({ modelId: s.modelId, nonce, evidence: fromB64u(req.evidence), wrapped: fromB64u(r3.body.wrapped), providerKey: s.key.signingPublicKey, now: fx.clock });
      assert.equal(e.status().allowance, 10);
    } finally {
      fx.clock -= 1000;
    }
  });

  t('fulfil: a fulfilled request is refused when replayed (409, "fulfilled before (replay)"), audited, and no credits move twice — also when two arrive at once', async () => {
    const s = await setup(fx);
    const { req } = request(s);
    assert.equal((await fx.call('POST', '/v1/admin/fulfill', { request: req })).status, 200);
    const again = await fx.call('POST', '/v1/admin/fulfill', { request: req });
    assert.equal(again.status, 409);
    assert.match(err(again.body).message, /fulfilled before \(replay\)/);
    const a = await lastAudit(fx, s.licenseId);
    assert.deepEqual([a.action, a.outcome, a.code], ['fulfill', 'refused', 'PROVISION_NONCE']);
    assert.equal((await fx.store.getLicense(s.licenseId))!.creditsAllocated, 10);
    // Concurrent: the nonce's unique key in the credit transaction lets exactly one through.
    const { req: twin } = request(s);
    const rs = await Promise.all([0, 1, 2].map(() => fx.call('POST', '/v1/admin/fulfill', { request: twin })));
    assert.deepEqual(rs.map((r) => r.status).sort(), [200, 409, 409]);
    assert.equal((await fx.store.getLicense(s.licenseId))!.creditsAllocated, 20);
    assert.equal(await fx.store.ledgerTotal(s.licenseId), 20);
  });

  // ── a lost provision response (issue 11 item 5) ─────────────────────────────────────────

  t('provision: a retry of a request whose answer was lost gets the same enclave and allowance, no new credits; after a check-in or the nonce lifetime it is a replay', async () => {
    const s = await setup(fx, { credits: 100, maxInferences: 10 });
    const enclave = new TestEnclave(fx.chain);
    const { nonce, a, body } = await challengeAndAttest(fx, s, enclave);
    const first = await fx.call('POST', '/v1/provision', body);
    assert.equal(first.status, 200);
    // the answer is lost; the client sends the same request again
    const retry = await fx.call('POST', '/v1/provision', body);
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.deepEqual([retry.body.enclaveId, retry.body.allowance], [first.body.enclaveId, 10]);
    assert.equal((await fx.store.getLicense(s.licenseId))!.creditsAllocated, 10, 'the retry moved no credits');
    assert.match((await lastAudit(fx, s.licenseId)).reason, /answered again \(a retry: its first answer was lost\), 10 credits as before, none granted/);
    const e = enclave.provision({ modelId: s.modelId, nonce, evidence: a.evidence, wrapped: fromB64u(retry.body.wrapped), providerKey: s.key.signingPublicKey, now: fx.clock });
    e.admit(10, fx.clock);
    // The retry's key is someone else's: refused (the quote binds the key).
    const other = new TestEnclave(fx.chain);
    const forged = await fx.call('POST', '/v1/provision', { ...body, keyPub: b64u(other.keys.publicKey) });
    assert.equal(err(forged.body).code, 'PROVISION_NONCE');
    // Once the enclave checked in, it clearly got its answer: a replay is refused.
    assert.equal((await fx.call('POST', '/v1/usage', { report: e.usageReport(fx.clock) })).status, 200);
    const replay = await fx.call('POST', '/v1/provision', body);
    assert.deepEqual([replay.status, err(replay.body).code], [409, 'PROVISION_NONCE']);
    // A second enclave that never checked in: retries stop with the nonce lifetime (300 s).
    const e2 = new TestEnclave(fx.chain);
    const p2 = await challengeAndAttest(fx, s, e2);
    assert.equal((await fx.call('POST', '/v1/provision', p2.body)).status, 200);
    fx.clock += 301;
    try {
      assert.equal((await fx.call('POST', '/v1/provision', p2.body)).status, 409);
    } finally {
      fx.clock -= 301;
    }
    assert.equal(await fx.store.ledgerTotal(s.licenseId), (await fx.store.getLicense(s.licenseId))!.creditsAllocated);
  });

  // ── checks that had no test of their own (issue 11, "tests that could not fail") ────────

  t('challenge: a token with a valid provider signature but other terms than the one issued is refused (the issued-token check, on its own)', async () => {
    const s = await setup(fx);
    // Signed with the model's real provider key: the signature check passes, only the comparison with the issued token can refuse it.
    const altered = signLicense({ licenseId: s.licenseId, modelId: s.modelId, customerId: s.customerId, notBefore: 0, notAfter: fx.clock + 1e9, credits: 1e9, offline: { maxInferences: 1e9, maxSeconds: 1e9 } }, s.key.signingKey);
    const c = await fx.call('POST', '/v1/challenge', { license: altered.token });
    assert.deepEqual([c.status, err(c.body).code], [403, 'LICENSE_INVALID']);
    assert.match(err(c.body).message, /the token is not the one issued/);
    const a = await lastAudit(fx, s.licenseId);
    assert.deepEqual([a.outcome, a.code], ['refused', 'LICENSE_INVALID']);
    assert.equal((await fx.call('POST', '/v1/challenge', { license: s.token })).status, 200, 'the issued token is accepted');
  });

  t('usage: a report that repeats the last sequence number with a higher used count is refused by the sequence check alone', async () => {
    const s = await setup(fx, { credits: 50, maxInferences: 10 });
    const enclave = new TestEnclave(fx.chain);
    const { nonce, a, body } = await challengeAndAttest(fx, s, enclave);
    const p = await fx.call('POST', '/v1/provision', body);
    const e = enclave.provision({ modelId: s.modelId, nonce, evidence: a.evidence, wrapped: fromB64u(p.body.wrapped), providerKey: s.key.signingPublicKey, now: fx.clock });
    const saved = e.exportState();
    e.admit(3, fx.clock);
    assert.equal((await fx.call('POST', '/v1/usage', { report: e.usageReport(fx.clock) })).status, 200); // seq 1, used 3
    // Restored state: the next report is seq 1 again, with used 5 (≥ 3, so "used went down" cannot catch it).
    const restored = LicenseEnforcer.fromState(saved, { modelId: s.modelId, providerKey: s.key.signingPublicKey, now: fx.clock });
    restored.admit(5, fx.clock);
    const r = await fx.call('POST', '/v1/usage', { report: restored.usageReport(fx.clock) });
    assert.deepEqual([r.status, err(r.body).code], [409, 'USAGE_ROLLBACK']);
    assert.match(err(r.body).message, /sequence number 1 is not above the last accepted 1/);
    assert.deepEqual((await fx.store.usage({ customerId: s.customerId }))[0]!.used, 3, 'nothing recorded');
  });

  // ── TCB and revocation under a collateral-checked root (§4.5.1) ─────────────────────────

  t('collateral: under a collateral-checked root an UpToDate platform provisions (audited with its TCB), a revoked PCK is refused with an audit entry; sim quotes are not TCB-checked and the audit says so', async () => {
    const world = makeWorld();
    let revoked: string[] = [];
    const source: CollateralSource = { label: 'synthetic', forChain: () => world.collateral({ pckRevoked: revoked }) };
    const w = await Fixture.create(await openDb(), { roots: [world.root], service: { collateral: source, collateralRoots: [world.root] } });
    try {
      w.clock = Math.floor(NOW.getTime() / 1000);
      const s = await setup(w);
      const ok = await challengeAndAttest(w, s, new TestEnclave(world.chain));
      assert.equal((await w.call('POST', '/v1/provision', ok.body)).status, 200);
      assert.match((await lastAudit(w, s.licenseId)).reason, /TCB UpToDate\) provisioned/);
      revoked = [world.leafSerial];
      const bad = await challengeAndAttest(w, s, new TestEnclave(world.chain));
      const r = await w.call('POST', '/v1/provision', bad.body);
      assert.deepEqual([r.status, err(r.body).code], [403, 'ATTEST_REVOKED']);
      const a = await lastAudit(w, s.licenseId);
      assert.deepEqual([a.outcome, a.code], ['refused', 'ATTEST_REVOKED']);
      assert.match(a.reason, /is revoked by the PCK CRL/);
      // The sim root (trusted by the fixture, not collateral-checked): provisioned, "not evaluated".
      const sim = await challengeAndAttest(w, s, new TestEnclave(w.chain));
      assert.equal((await w.call('POST', '/v1/provision', sim.body)).status, 200);
      assert.match((await lastAudit(w, s.licenseId)).reason, /TCB not evaluated \(INSECURE sim root, no Intel collateral\)/);
      assert.equal((await w.store.getLicense(s.licenseId))!.creditsAllocated, 20, 'the refusal moved no credits');
    } finally {
      await w.store.close();
    }
  });

  // ── bad input and the cost of requests (§8.3) ───────────────────────────────────────────

  t('audit: a limit that is not an integer 1–10000 is a 400 with a clear message, not a 500', async () => {
    for (const bad of ['-5', '0', '10001', 'abc', '1e3', '']) {
      const r = await fx.call('GET', `/v1/admin/audit?limit=${bad}`);
      assert.equal(r.status, 400, `limit=${bad}: ${JSON.stringify(r.body)}`);
      assert.match(err(r.body).message, /limit must be an integer from 1 to 10000, got/);
    }
    const r = await fx.call('GET', '/v1/admin/audit?limit=2');
    assert.equal(r.status, 200);
    assert.ok((r.body.audit as unknown[]).length <= 2);
  });

  t('admin auth: 3,000 requests with a wrong token add one audit row per minute, which counts them', async () => {
    const count = async (): Promise<{ rows: number; bytes: number }> => {
      const [r] = await fx.store.db.query<{ n: unknown; b: unknown }>("SELECT count(*) AS n, coalesce(sum(octet_length(subject) + octet_length(reason)), 0) AS b FROM audit WHERE action = 'admin.auth'");
      return { rows: Number(r!.n), bytes: Number(r!.b) };
    };
    const before = await count();
    const long = 'x'.repeat(4000);
    for (let i = 0; i < 3000; i++) assert.equal((await fx.call('GET', `/v1/admin/licenses?${long}`, undefined, `wrong-${i}`)).status, 401);
    const during = await count();
    assert.ok(during.rows - before.rows <= 1, `${during.rows - before.rows} rows for 3,000 refusals`);
    assert.ok(during.bytes - before.bytes < 1000, `${during.bytes - before.bytes} bytes for 3,000 refusals`);
    fx.clock += ANONYMOUS_AUDIT_WINDOW_SECONDS;
    try {
      await fx.call('GET', '/v1/admin/licenses', undefined, 'wrong-again');
      const a = await lastAudit(fx, '/v1/admin/licenses');
      assert.deepEqual([a.action, a.code], ['admin.auth', 'ADMIN_AUTH']);
      assert.match(a.reason, /\+\d+ more refused since .*counted, not logged one by one/);
      assert.ok(Number(/\+(\d+) more/.exec(a.reason)![1]) >= 2999);
    } finally {
      fx.clock -= ANONYMOUS_AUDIT_WINDOW_SECONDS;
    }
  });

  t('a POST body sent as text/plain (or without a type) is refused with 415; application/json with a charset is accepted', async () => {
    const body = new TextEncoder().encode(JSON.stringify({ licenseId: 'lic-nothing' }));
    for (const contentType of ['text/plain;charset=UTF-8', '', 'application/x-www-form-urlencoded']) {
      const r = await fx.server.handle({ method: 'POST', url: '/v1/challenge', body, contentType });
      assert.equal(r.status, 415, contentType);
      assert.match(err(r.body as Record<string, unknown>).message, /not application\/json/);
    }
    assert.equal((await fx.server.handle({ method: 'POST', url: '/v1/challenge', body, contentType: 'application/json; charset=utf-8' })).status, 404);
  });

  t('internal errors are logged on the server (without ENCLAVE_NN_DEBUG) in words a person can act on; the client sees only "internal error"', async () => {
    const store = fx.store as unknown as { listAudit: unknown };
    const orig = store.listAudit;
    fx.logged.length = 0;
    try {
      store.listAudit = () => Promise.reject(Object.assign(new Error(undefined as unknown as string), { name: 'RuntimeError' }));
      const r1 = await fx.call('GET', '/v1/admin/audit');
      assert.deepEqual([r1.status, err(r1.body).message], [500, 'internal error']);
      store.listAudit = () => Promise.reject(new Error('Aborted(). Build with -sASSERTIONS for more info.'));
      await fx.call('GET', '/v1/admin/audit');
    } finally {
      store.listAudit = orig;
    }
    assert.equal(fx.logged.length, 2, fx.logged.join('\n'));
    assert.match(fx.logged[0]!, /^license-server: internal error in GET \/v1\/admin\/audit: the store failed with RuntimeError and no message/);
    assert.match(fx.logged[1]!, /PGlite\) aborted: its directory is damaged, .*restore it from a backup/);
    assert.ok(!fx.logged.some((l) => /undefined|-sASSERTIONS/.test(l)));
  });
}
