/**
 * The production path with real SGX quotes and collateral (../shared/attestation): the license
 * server pins the Intel SGX Root CA and checks TCB status and revocation against a collateral
 * directory (docs/license-protocol.md §4.5.1). Real quotes pass the chain, then meet the TCB
 * policy (the platform is ConfigurationAndSWHardeningNeeded), the collateral's nextUpdate, the
 * measurement policy and the nonce binding — each refusal with its audit entry. None was made for
 * this server's nonce, so none provisions.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INTEL_SGX_ROOT_CA } from '../attest/roots.ts';
import { REAL_QUOTES, REAL_QUOTE_TIME, SHARED_ATTESTATION_DIR, SKIP_REASON, sharedFile } from '../attest/material.testkit.ts';
import type { TcbStatus } from '../attest/types.ts';
import { encodeProviderKeyFile } from '../bundle/provider-key.ts';
import { generateX25519KeyPair } from '../crypto/index.ts';
import { collateralDir } from './collateral-dir.ts';
import { freshPgliteDir } from './pglite.testkit.ts';
import { openPgliteDb } from './store-pglite.ts';
import { Fixture, testProviderKey, writeCollateralDir, type FixtureServiceOptions } from './support.testkit.ts';

const AT = Math.floor(REAL_QUOTE_TIME.getTime() / 1000);
/** The collateral's nextUpdate is 2025-07-19 (PROVENANCE.md); a day later it is expired. */
const AFTER_NEXT_UPDATE = Math.floor(Date.parse('2025-07-20T00:00:00Z') / 1000);

let dir = '';
const fixtures: Fixture[] = [];
let n = 0;
before(() => {
  if (!SKIP_REASON) dir = writeCollateralDir(readFileSync(join(SHARED_ATTESTATION_DIR, 'dcap-qvl_sgx_quote_collateral.json'), 'utf8'), mkdtempSync(join(tmpdir(), 'enn-collateral-')));
});
after(async () => { for (const f of fixtures) await f.store.close(); });

async function server(service: FixtureServiceOptions): Promise<Fixture> {
  const fx = await Fixture.create(await openPgliteDb(await freshPgliteDir()), { roots: [INTEL_SGX_ROOT_CA], service });
  fx.clock = AT;
  fixtures.push(fx);
  await fx.call('POST', '/v1/admin/customers', { id: 'real' });
  return fx;
}

async function provisionWith(fx: Fixture, file: string, policy: { mrEnclave: string[]; allowDebug: boolean; acceptedTcbStatuses?: TcbStatus[] }): Promise<{ status: number; code: string; audit: string; reason: string }> {
  const modelId = `real-${file.replace(/\W/g, '-')}-${n++}`;
  const key = testProviderKey(modelId);
  const m = await fx.call('POST', '/v1/admin/models', { providerKey: JSON.parse(new TextDecoder().decode(encodeProviderKeyFile(key))), policy: { ...policy, mrSigner: [], minIsvSvn: 0 } });
  assert.equal(m.status, 200, JSON.stringify(m.body));
  const lic = await fx.call('POST', '/v1/admin/licenses', { customerId: 'real', modelId, credits: 10 });
  const licenseId = lic.body.licenseId as string;
  const c = await fx.call('POST', '/v1/challenge', { licenseId });
  const r = await fx.call('POST', '/v1/provision', {
    licenseId, nonce: c.body.nonce, evidence: Buffer.from(sharedFile(file)).toString('base64url'), keyPub: Buffer.from(generateX25519KeyPair().publicKey).toString('base64url'),
  });
  const a = (await fx.call('GET', `/v1/admin/audit?subject=${licenseId}&limit=1`)).body.audit as { code: string; reason: string }[];
  assert.equal((await fx.store.getLicense(licenseId))!.creditsAllocated, 0, 'a refused provisioning moves no credits');
  return { status: r.status, code: (r.body.error as { code: string }).code, audit: a[0]!.code, reason: a[0]!.reason };
}

const q = REAL_QUOTES[0];

test('real quote + collateral: ConfigurationAndSWHardeningNeeded (INTEL-SA-00289, INTEL-SA-00615) is refused under the default policy (UpToDate only), with an audit entry', { skip: SKIP_REASON }, async () => {
  const fx = await server({ collateral: collateralDir(dir) });
  const r = await provisionWith(fx, q.file, { mrEnclave: [q.mrEnclave], allowDebug: false });
  assert.deepEqual([r.status, r.code, r.audit], [403, 'ATTEST_TCB', 'ATTEST_TCB']);
  assert.match(r.reason, /TCB status ConfigurationAndSWHardeningNeeded \(advisories INTEL-SA-00289, INTEL-SA-00615\) is not accepted \(accepted: UpToDate\)/);
});

test('real quote + collateral: a model that opts in to ConfigurationAndSWHardeningNeeded gets past the TCB check to the measurement and nonce binding', { skip: SKIP_REASON }, async () => {
  const fx = await server({ collateral: collateralDir(dir) });
  const optIn: TcbStatus[] = ['UpToDate', 'ConfigurationAndSWHardeningNeeded'];
  assert.deepEqual((await provisionWith(fx, q.file, { mrEnclave: [q.mrEnclave], allowDebug: false, acceptedTcbStatuses: optIn })).code, 'ATTEST_REPORTDATA');
  assert.deepEqual((await provisionWith(fx, q.file, { mrEnclave: ['00'.repeat(32)], allowDebug: false, acceptedTcbStatuses: optIn })).code, 'ATTEST_POLICY_MRENCLAVE');
  // Unknown names (and Revoked) are refused when the model is registered.
  const bad = await fx.call('POST', '/v1/admin/models', { providerKey: JSON.parse(new TextDecoder().decode(encodeProviderKeyFile(testProviderKey('bad-tcb')))), policy: { mrEnclave: [q.mrEnclave], mrSigner: [], allowDebug: false, minIsvSvn: 0, acceptedTcbStatuses: ['Revoked'] } });
  assert.equal(bad.status, 400);
  assert.match((bad.body.error as { message: string }).message, /acceptedTcbStatuses must be a non-empty list of UpToDate/);
});

test('real quote + collateral: after the collateral\'s nextUpdate (2025-07-19) provisioning is refused as expired, audited and logged for the operator', { skip: SKIP_REASON }, async () => {
  const fx = await server({ collateral: collateralDir(dir) });
  fx.clock = AFTER_NEXT_UPDATE;
  const r = await provisionWith(fx, q.file, { mrEnclave: [q.mrEnclave], allowDebug: false, acceptedTcbStatuses: ['ConfigurationAndSWHardeningNeeded'] });
  assert.deepEqual([r.status, r.code, r.audit], [403, 'ATTEST_COLLATERAL_EXPIRED', 'ATTEST_COLLATERAL_EXPIRED']);
  assert.match(r.reason, /valid 2025-06-19T.* \.\. 2025-07-19T.*, not at 2025-07-20T00:00:00\.000Z/);
  assert.ok(fx.logged.some((l) => /refused POST \/v1\/provision: .*valid 2025-06-19/.test(l)), fx.logged.join('\n'));
});

test('real quote without collateral: a production quote is refused (TCB and revocation cannot be checked), audited', { skip: SKIP_REASON }, async () => {
  const fx = await server({});
  const r = await provisionWith(fx, q.file, { mrEnclave: [q.mrEnclave], allowDebug: false });
  assert.deepEqual([r.status, r.code, r.audit], [403, 'ATTEST_COLLATERAL_MISSING', 'ATTEST_COLLATERAL_MISSING']);
  assert.match(r.reason, /no DCAP collateral \(license-server --collateral DIR\)/);
});

test('real quote, collateral directory without this platform\'s TCB Info: refused, naming the file', { skip: SKIP_REASON }, async () => {
  const fx = await server({ collateral: collateralDir(mkdtempSync(join(tmpdir(), 'enn-collateral-empty-'))) });
  const r = await provisionWith(fx, q.file, { mrEnclave: [q.mrEnclave], allowDebug: false });
  assert.equal(r.code, 'ATTEST_COLLATERAL_MISSING');
  assert.match(r.reason, /tcb-signing-chain\.pem \(TCB Signing chain\) cannot be read \(ENOENT\)/);
});

test('a real debug quote is refused by the production policy', { skip: SKIP_REASON }, async () => {
  // collateralRoots [] : the TCB check is off here, to reach the debug policy (this quote's platform has no collateral in ../shared).
  const fx = await server({ collateralRoots: [] });
  const d = REAL_QUOTES[2];
  assert.deepEqual((await provisionWith(fx, d.file, { mrEnclave: [d.mrEnclave], allowDebug: false })).code, 'ATTEST_POLICY_DEBUG');
  assert.equal((await provisionWith(fx, d.file, { mrEnclave: [d.mrEnclave], allowDebug: true })).code, 'ATTEST_REPORTDATA', 'with debug allowed it gets as far as the binding');
});
