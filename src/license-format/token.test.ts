import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateEd25519KeyPair } from '../crypto/index.ts';
import { EnclaveNnError } from '../errors.ts';
import { fromB64u, LABEL_LICENSE, signObject } from './signed.ts';
import { openGrant, openUsageReport, signGrant, signLicense, signUsageReport, verifyLicense } from './token.ts';
import { toBase64Url } from '../util/encoding.ts';

const provider = generateEd25519KeyPair();
const terms = { licenseId: 'lic-1', modelId: 'model-a', customerId: 'acme', notBefore: 1000, notAfter: 2000, credits: 100, offline: { maxInferences: 10, maxSeconds: 60 } };
const code = (c: string) => (e: unknown) => e instanceof EnclaveNnError && e.code === c;
const editBody = (token: string, f: (json: string) => string): string => {
  const [body, sig] = token.split('.') as [string, string];
  return `${toBase64Url(new TextEncoder().encode(f(new TextDecoder().decode(fromB64u(body, 'body')))))}.${sig}`;
};

test('a license verifies with its provider key, for its model, inside its window', () => {
  const lic = signLicense(terms, provider.privateKey);
  assert.deepEqual(verifyLicense(lic.token, provider.publicKey, { modelId: 'model-a', now: 1500 }), lic);
  assert.throws(() => verifyLicense(lic.token, generateEd25519KeyPair().publicKey, { modelId: 'model-a', now: 1500 }), code('LICENSE_INVALID'));
  assert.throws(() => verifyLicense(lic.token, provider.publicKey, { modelId: 'model-b', now: 1500 }), code('LICENSE_MODEL'));
  assert.throws(() => verifyLicense(lic.token, provider.publicKey, { modelId: 'model-a', now: 2001 }), code('LICENSE_EXPIRED'));
  assert.throws(() => verifyLicense(lic.token, provider.publicKey, { modelId: 'model-a', now: 999 }), code('LICENSE_NOT_YET_VALID'));
});

test('a reader rejects edited, non-canonical, unknown-member and cross-kind tokens', () => {
  const lic = signLicense(terms, provider.privateKey);
  const v = (t: string) => () => verifyLicense(t, provider.publicKey, { modelId: 'model-a', now: 1500 });
  assert.throws(v(editBody(lic.token, (j) => j.replace('"credits":100', '"credits":999'))), /signature does not verify/);
  assert.throws(v(editBody(lic.token, (j) => j.replace('{', '{ '))), /not canonical/);
  assert.throws(v(lic.token + '.x'), /expected 2 dot-separated parts/);
  // A validly signed body with an extra member is still refused (a new member is a new version).
  const extra = signObject(LABEL_LICENSE, { type: 'enclave-nn-license', version: 1, ...terms, extra: 'x' }, provider.privateKey);
  assert.throws(v(extra), /exactly the members/);
  // A grant signature never verifies as a license (domain separation by label).
  const grant = signGrant({ licenseId: 'lic-1', enclaveId: 'ab'.repeat(32), seq: 0, nonce: 'cd'.repeat(32), allowance: 10, issuedAt: 1 }, provider.privateKey);
  assert.throws(v(grant.token), code('LICENSE_INVALID'));
  assert.equal(openGrant(grant.token, provider.publicKey).allowance, 10);
});

test('a usage report verifies with the enclave key only, and seq starts at 1', () => {
  const enclave = generateEd25519KeyPair();
  const r = signUsageReport({ licenseId: 'lic-1', enclaveId: Buffer.from(enclave.publicKey).toString('hex'), seq: 1, nonce: 'cd'.repeat(32), used: 5, allowance: 10, at: 3 }, enclave.privateKey);
  assert.equal(openUsageReport(r.token, enclave.publicKey).used, 5);
  assert.throws(() => openUsageReport(r.token, provider.publicKey), code('USAGE_INVALID'));
  const zero = signUsageReport({ ...r, seq: 0 }, enclave.privateKey);
  assert.throws(() => openUsageReport(zero.token, enclave.publicKey), /seq must be at least 1/);
});
