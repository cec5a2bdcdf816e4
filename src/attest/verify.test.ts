import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INTEL_SGX_ROOT_CA, QUOTE, createInsecureSimChain, parseQuote, verifyQuote, type VerifyOptions } from './index.ts';
import { REAL_QUOTES, REAL_QUOTE_TIME, SKIP_REASON, codeOf, sharedFile } from './material.testkit.ts';

const intel = (over: Partial<VerifyOptions> = {}): VerifyOptions => ({ roots: [INTEL_SGX_ROOT_CA], at: REAL_QUOTE_TIME, policy: { allowDebug: true }, ...over });


for (const q of REAL_QUOTES) {
  test(`real quote ${q.file} verifies against the pinned Intel root with its documented fields`, { skip: SKIP_REASON }, () => {
    const v = verifyQuote(sharedFile(q.file), intel());
    assert.equal(v.mrEnclave, q.mrEnclave);
    if (q.mrSigner) assert.equal(v.mrSigner, q.mrSigner);
    if (q.isvProdId !== undefined) assert.equal(v.isvProdId, q.isvProdId);
    if (q.isvSvn !== undefined) assert.equal(v.isvSvn, q.isvSvn);
    if (q.reportData) assert.equal(Buffer.from(v.reportData).toString('hex'), q.reportData);
    assert.equal(v.debug, q.debug);
    assert.equal(v.root.sha256, INTEL_SGX_ROOT_CA.sha256);
    assert.equal(v.pck.subjectCN, 'Intel SGX PCK Certificate');
  });
}

test('production policy refuses the debug quote; allowDebug accepts it', { skip: SKIP_REASON }, () => {
  const debug = sharedFile('automata_quote_sgx_debug.bin');
  const m = REAL_QUOTES[2].mrEnclave;
  assert.equal(codeOf(() => verifyQuote(debug, intel({ policy: { mrEnclave: [m] } }))), 'ATTEST_POLICY_DEBUG');
  assert.equal(codeOf(() => verifyQuote(debug, intel({ policy: { mrEnclave: [m], allowDebug: false } }))), 'ATTEST_POLICY_DEBUG');
  assert.equal(verifyQuote(debug, intel({ policy: { mrEnclave: [m], allowDebug: true } })).debug, true);
  // The non-debug quote passes the production policy.
  const prod = REAL_QUOTES[0];
  assert.equal(verifyQuote(sharedFile(prod.file), intel({ policy: { mrEnclave: [prod.mrEnclave] } })).mrEnclave, prod.mrEnclave);
});

test('policy checks name the failed field', { skip: SKIP_REASON }, () => {
  const q = REAL_QUOTES[1];
  const bytes = sharedFile(q.file);
  const other = 'ab'.repeat(32);
  assert.equal(codeOf(() => verifyQuote(bytes, intel({ policy: { mrEnclave: [other] } }))), 'ATTEST_POLICY_MRENCLAVE');
  assert.equal(codeOf(() => verifyQuote(bytes, intel({ policy: { mrSigner: [other] } }))), 'ATTEST_POLICY_MRSIGNER');
  assert.equal(codeOf(() => verifyQuote(bytes, intel({ policy: { isvProdId: 1 } }))), 'ATTEST_POLICY_ISVPRODID');
  assert.equal(codeOf(() => verifyQuote(bytes, intel({ policy: { minIsvSvn: 5001 } }))), 'ATTEST_POLICY_ISVSVN');
  assert.equal(codeOf(() => verifyQuote(bytes, intel({ policy: { reportData: new Uint8Array(64).fill(1) } }))), 'ATTEST_REPORTDATA');
  const all = { mrEnclave: [q.mrEnclave.toUpperCase(), other], mrSigner: [q.mrSigner], isvProdId: 4000, minIsvSvn: 5000, reportData: new Uint8Array(64) };
  assert.equal(verifyQuote(bytes, intel({ policy: all })).isvSvn, 5000);
});

test('a real quote checked against another pinned root fails', { skip: SKIP_REASON }, () => {
  const sim = createInsecureSimChain();
  const bytes = sharedFile(REAL_QUOTES[0].file);
  assert.equal(codeOf(() => verifyQuote(bytes, intel({ roots: [sim.root] }))), 'ATTEST_ROOT_NOT_PINNED');
  assert.equal(codeOf(() => verifyQuote(bytes, intel({ roots: [] }))), 'ATTEST_ROOT_NOT_PINNED');
});

test('certificates are checked for validity at the verification time', { skip: SKIP_REASON }, () => {
  const bytes = sharedFile(REAL_QUOTES[0].file);
  assert.equal(codeOf(() => verifyQuote(bytes, intel({ at: new Date('2040-01-01T00:00:00Z') }))), 'ATTEST_CERT_EXPIRED');
  assert.equal(codeOf(() => verifyQuote(bytes, intel({ at: new Date('2015-01-01T00:00:00Z') }))), 'ATTEST_CERT_EXPIRED');
});

/** Expected failure codes by region of a real quote (docs/attestation.md §3). */
function regions(bytes: Uint8Array): Array<{ name: string; from: number; to: number; codes: string[] }> {
  const q = parseQuote(bytes);
  const authEnd = 1014 + q.qeAuthData.length;
  return [
    { name: 'header', from: 0, to: 48, codes: ['ATTEST_PARSE', 'ATTEST_QUOTE_SIGNATURE'] },
    { name: 'ISV report body', from: 48, to: 432, codes: ['ATTEST_QUOTE_SIGNATURE'] },
    { name: 'signature data length', from: 432, to: 436, codes: ['ATTEST_PARSE'] },
    { name: 'quote signature', from: 436, to: 500, codes: ['ATTEST_QUOTE_SIGNATURE'] },
    { name: 'attestation key', from: 500, to: 564, codes: ['ATTEST_QE_BINDING'] },
    { name: 'QE report', from: 564, to: 948, codes: ['ATTEST_QE_SIGNATURE'] },
    { name: 'QE report signature', from: 948, to: 1012, codes: ['ATTEST_QE_SIGNATURE'] },
    { name: 'QE auth data size', from: 1012, to: 1014, codes: ['ATTEST_PARSE'] },
    { name: 'QE auth data', from: 1014, to: authEnd, codes: ['ATTEST_QE_BINDING'] },
    { name: 'certification data header', from: authEnd, to: authEnd + 6, codes: ['ATTEST_PARSE'] },
    { name: 'certificates', from: authEnd + 6, to: bytes.length, codes: ['ATTEST_CHAIN', 'ATTEST_ROOT_NOT_PINNED', 'ATTEST_QE_SIGNATURE'] },
  ];
}

test('flipping a bit anywhere in a real quote makes verification fail with the check of that region', { skip: SKIP_REASON }, () => {
  const original = sharedFile(REAL_QUOTES[0].file);
  let tried = 0;
  for (const r of regions(original)) {
    // Every byte, one bit each (the bit index cycles so all 8 bit positions are exercised).
    for (let i = r.from; i < r.to; i++) {
      const bytes = new Uint8Array(original);
      bytes[i]! ^= 1 << (i % 8);
      const code = codeOf(() => verifyQuote(bytes, intel()));
      assert.ok(r.codes.includes(code), `flip at byte ${i} (${r.name}) gave ${code}, expected one of ${r.codes.join(', ')}`);
      tried++;
    }
  }
  assert.equal(tried, original.length);
  // Sanity: the untouched quote still verifies (the loop copied, never mutated, it).
  assert.equal(verifyQuote(original, intel()).mrEnclave, REAL_QUOTES[0].mrEnclave);
});

test('flipping bits of the other real quotes fails too (spread of positions)', { skip: SKIP_REASON }, () => {
  for (const q of REAL_QUOTES.slice(1)) {
    const original = sharedFile(q.file);
    for (let i = 0; i < original.length; i += 13) {
      const bytes = new Uint8Array(original);
      bytes[i]! ^= 0x80 >> (i % 8);
      assert.notEqual(codeOf(() => verifyQuote(bytes, intel())), 'ACCEPTED', `${q.file}: flip at ${i} was accepted`);
    }
  }
});

test('the certification data may not carry extra bytes, and the quote no trailing bytes', { skip: SKIP_REASON }, () => {
  const original = sharedFile(REAL_QUOTES[0].file);
  const longer = new Uint8Array(original.length + 1);
  longer.set(original);
  assert.equal(codeOf(() => verifyQuote(longer, intel())), 'ATTEST_PARSE');
  assert.equal(QUOTE.SIGNED_SIZE, 432);
});
