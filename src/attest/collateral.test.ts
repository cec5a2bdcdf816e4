import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { verifyChain } from './chain.ts';
import { parseCollateralJson, verifyCollateral } from './collateral.ts';
import { rawJsonMember } from './raw-json.ts';
import { INTEL_SGX_ROOT_CA, parseQuote, verifyQuote, type Collateral, type VerifyOptions } from './index.ts';
import { SHARED_ATTESTATION_DIR, SKIP_REASON, codeOf, sharedFile } from './material.testkit.ts';

const AT = new Date('2025-06-20T00:00:00Z');
const load = (): Collateral => parseCollateralJson(readFileSync(`${SHARED_ATTESTATION_DIR}/dcap-qvl_sgx_quote_collateral.json`, 'utf8'));
const opts = (collateral: Collateral, over: Partial<VerifyOptions> = {}): VerifyOptions => ({
  roots: [INTEL_SGX_ROOT_CA], at: AT, policy: {}, collateral, tcbPolicy: { acceptedStatuses: ['ConfigurationAndSWHardeningNeeded'] }, ...over,
});


test('the dcap-qvl quote with its collateral verifies at 2025-06-20 to ConfigurationAndSWHardeningNeeded', { skip: SKIP_REASON }, () => {
  const v = verifyQuote(sharedFile('dcap-qvl_sgx_quote.bin'), opts(load()));
  assert.equal(v.tcb?.status, 'ConfigurationAndSWHardeningNeeded');
  assert.deepEqual(v.tcb?.advisoryIds, ['INTEL-SA-00289', 'INTEL-SA-00615']);
  assert.equal(v.tcb?.qeStatus, 'UpToDate');
  assert.equal(v.tcb?.fmspc, '00A067110000');
});

test('the TCB policy decides: UpToDate-only (the default) refuses that status', { skip: SKIP_REASON }, () => {
  const quote = sharedFile('dcap-qvl_sgx_quote.bin');
  assert.equal(codeOf(() => verifyQuote(quote, opts(load(), { tcbPolicy: undefined }))), 'ATTEST_TCB');
  assert.equal(codeOf(() => verifyQuote(quote, opts(load(), { tcbPolicy: { acceptedStatuses: ['UpToDate', 'SWHardeningNeeded'] } }))), 'ATTEST_TCB');
});

test('the collateral is rejected after it expires (2025-07-19) and before it was issued', { skip: SKIP_REASON }, () => {
  const quote = sharedFile('dcap-qvl_sgx_quote.bin');
  for (const at of ['2025-07-19T12:00:00Z', '2025-08-01T00:00:00Z', '2025-06-18T00:00:00Z']) {
    assert.equal(codeOf(() => verifyQuote(quote, opts(load(), { at: new Date(at) }))), 'ATTEST_COLLATERAL_EXPIRED', at);
  }
});

test('tampering any byte of the TCB Info or QE Identity JSON makes it fail', { skip: SKIP_REASON }, () => {
  const quote = parseQuote(sharedFile('dcap-qvl_sgx_quote.bin'));
  const pck = verifyChain(quote.certificationData, [INTEL_SGX_ROOT_CA], AT, 'PCK chain');
  const good = load();
  assert.equal(verifyCollateral(quote, pck, good, [INTEL_SGX_ROOT_CA], AT).status, 'ConfigurationAndSWHardeningNeeded');
  for (const field of ['tcbInfo', 'qeIdentity'] as const) {
    const text = good[field];
    for (let i = 0; i < text.length; i++) {
      // Flip one of the low 7 bits: the text stays ASCII, so exactly one signed byte changes.
      const ch = String.fromCharCode(text.charCodeAt(i) ^ (1 << (i % 7)));
      const tampered = { ...good, [field]: text.slice(0, i) + ch + text.slice(i + 1) };
      const code = codeOf(() => verifyCollateral(quote, pck, tampered, [INTEL_SGX_ROOT_CA], AT));
      assert.equal(code, 'ATTEST_COLLATERAL_SIGNATURE', `${field}: byte ${i} tampered gave ${code}`);
    }
  }
});

test('tampered signatures, CRLs and issuer chains fail', { skip: SKIP_REASON }, () => {
  const quote = sharedFile('dcap-qvl_sgx_quote.bin');
  const good = load();
  const flip = (b: Uint8Array, i: number) => {
    const c = new Uint8Array(b);
    c[i]! ^= 0x01;
    return c;
  };
  assert.equal(codeOf(() => verifyQuote(quote, opts({ ...good, tcbInfoSignature: flip(good.tcbInfoSignature, 10) }))), 'ATTEST_COLLATERAL_SIGNATURE');
  assert.equal(codeOf(() => verifyQuote(quote, opts({ ...good, qeIdentitySignature: flip(good.qeIdentitySignature, 40) }))), 'ATTEST_COLLATERAL_SIGNATURE');
  for (const k of ['rootCaCrl', 'pckCrl'] as const) {
    for (let i = 0; i < good[k].length; i += 7) {
      assert.notEqual(codeOf(() => verifyQuote(quote, opts({ ...good, [k]: flip(good[k], i) }))), 'ACCEPTED', `${k} byte ${i}`);
    }
  }
  // The CRLs swapped: each is then checked against the wrong issuer.
  assert.equal(codeOf(() => verifyQuote(quote, opts({ ...good, rootCaCrl: good.pckCrl, pckCrl: good.rootCaCrl }))), 'ATTEST_CRL');
  // The TCB Info signed chain replaced by the PCK chain: wrong length, not the TCB Signing key.
  const pem = new TextDecoder().decode(parseQuote(quote).certificationData).replace(/\0$/, '');
  assert.equal(codeOf(() => verifyQuote(quote, opts({ ...good, tcbInfoIssuerChain: pem }))), 'ATTEST_CHAIN');
  // The TCB Info and QE Identity swapped (each validly signed): the wrong document is refused.
  const swapped = { ...good, tcbInfo: good.qeIdentity, tcbInfoSignature: good.qeIdentitySignature, qeIdentity: good.tcbInfo, qeIdentitySignature: good.tcbInfoSignature };
  assert.equal(codeOf(() => verifyQuote(quote, opts(swapped))), 'ATTEST_COLLATERAL_PARSE');
});

test('collateral of another platform is refused: its PCK CRL is not from the quote\'s PCK CA', { skip: SKIP_REASON }, () => {
  // The occlum quote chains through the PCK Platform CA; this collateral's PCK CRL is the Processor CA's.
  assert.equal(codeOf(() => verifyQuote(sharedFile('occlum_quote.bin'), opts(load()))), 'ATTEST_CRL');
});

test('parseCollateralJson cuts the signed value verbatim out of a PCS response body', { skip: SKIP_REASON }, () => {
  const raw = JSON.parse(readFileSync(`${SHARED_ATTESTATION_DIR}/dcap-qvl_sgx_quote_collateral.json`, 'utf8')) as Record<string, string>;
  const pcsBody = `{"tcbInfo":${raw['tcb_info']}, "signature":"${raw['tcb_info_signature']}"}`;
  const c = parseCollateralJson(JSON.stringify({ ...raw, tcb_info: pcsBody, tcb_info_signature: undefined }));
  assert.equal(c.tcbInfo, raw['tcb_info']);
  assert.equal(verifyQuote(sharedFile('dcap-qvl_sgx_quote.bin'), opts(c)).tcb?.status, 'ConfigurationAndSWHardeningNeeded');
});

test('rawJsonMember returns the exact text, whitespace and escapes included', () => {
  assert.equal(rawJsonMember('{ "a" : {"x": "}\\"" , "y":[1,{"z":2}]} , "b":1}', 'a'), '{"x": "}\\"" , "y":[1,{"z":2}]}');
  assert.equal(rawJsonMember('{"b":true,"a":-1.5e3}', 'a'), '-1.5e3');
  assert.throws(() => rawJsonMember('{"a":1,"a":2}', 'a'), /twice/);
  assert.throws(() => rawJsonMember('{"b":1}', 'a'), /absent/);
  assert.throws(() => rawJsonMember('[1]', 'a'), /object/);
});
