import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isErrorCode } from '../errors.ts';
import { QUOTE, encodeQuote, encodeReportBody, parseQuote } from './quote.ts';
import { REAL_QUOTES, SKIP_REASON, sharedFile } from './material.testkit.ts';

function sample(): Uint8Array {
  return encodeQuote({
    header: { qeSvn: 7, pceSvn: 13, qeVendorId: Buffer.from(QUOTE.INTEL_QE_VENDOR_ID, 'hex'), userData: new Uint8Array(20).fill(9) },
    body: encodeReportBody({ mrEnclave: new Uint8Array(32).fill(1), mrSigner: new Uint8Array(32).fill(2), isvProdId: 3, isvSvn: 4, reportData: new Uint8Array(64).fill(5), attributes: Uint8Array.of(7, ...new Array(15).fill(0)) }),
    signature: new Uint8Array(64).fill(6), attestationKey: new Uint8Array(64).fill(7),
    qeReport: encodeReportBody({ isvProdId: 1 }), qeReportSignature: new Uint8Array(64).fill(8),
    qeAuthData: Uint8Array.of(1, 2, 3), certificationData: new TextEncoder().encode('PEM'),
  });
}

const rejects = (bytes: Uint8Array, pattern: RegExp) =>
  assert.throws(() => parseQuote(bytes), (e: unknown) => isErrorCode(e, 'ATTEST_PARSE') && pattern.test((e as Error).message));

test('encodeQuote and parseQuote round-trip every field', () => {
  const q = parseQuote(sample());
  assert.equal(q.header.version, 3);
  assert.equal(q.header.qeSvn, 7);
  assert.equal(q.header.pceSvn, 13);
  assert.deepEqual([...q.header.userData], new Array(20).fill(9));
  assert.deepEqual([...q.body.mrEnclave], new Array(32).fill(1));
  assert.deepEqual([...q.body.mrSigner], new Array(32).fill(2));
  assert.equal(q.body.isvProdId, 3);
  assert.equal(q.body.isvSvn, 4);
  assert.equal(q.body.debug, true);
  assert.deepEqual([...q.body.reportData], new Array(64).fill(5));
  assert.deepEqual([...q.signature], new Array(64).fill(6));
  assert.deepEqual([...q.attestationKey], new Array(64).fill(7));
  assert.equal(q.qeReport.isvProdId, 1);
  assert.deepEqual([...q.qeAuthData], [1, 2, 3]);
  assert.equal(new TextDecoder().decode(q.certificationData), 'PEM');
  assert.equal(q.signedRegion.length, 432);
});

test('parseQuote rejects wrong version, key type, TEE type, vendor id', () => {
  const set = (off: number, v: number, size: 2 | 4) => {
    const b = sample();
    const dv = new DataView(b.buffer);
    if (size === 2) dv.setUint16(off, v, true);
    else dv.setUint32(off, v, true);
    return b;
  };
  rejects(set(0, 4, 2), /version 4/);
  rejects(set(2, 3, 2), /attestation key type 3/);
  rejects(set(4, 0x81, 4), /TEE type/);
  const v = sample();
  v[12]! ^= 1;
  rejects(v, /vendor id/);
});

test('parseQuote rejects bad lengths and trailing bytes', () => {
  const good = sample();
  rejects(good.subarray(0, 100), /shorter/);
  rejects(good.subarray(0, good.length - 1), /signature data length/);
  const longer = new Uint8Array(good.length + 1);
  longer.set(good);
  rejects(longer, /signature data length/);
  // Signature data length bumped together with the size: one byte left after the certification data.
  const extra = new Uint8Array(longer);
  new DataView(extra.buffer).setUint32(432, good.length - 436 + 1, true);
  rejects(extra, /1 bytes after the certification data/);
  // QE auth data size running past the end.
  const auth = new Uint8Array(good);
  new DataView(auth.buffer).setUint16(1012, 0xffff, true);
  rejects(auth, /runs past the end/);
  // Certification data type other than 5.
  const type = new Uint8Array(good);
  new DataView(type.buffer).setUint16(1012 + 2 + 3, 4, true);
  rejects(type, /certification data type 4/);
});

test('parseQuote reads the real quotes at the documented offsets', { skip: SKIP_REASON }, () => {
  for (const r of REAL_QUOTES) {
    const bytes = sharedFile(r.file);
    const q = parseQuote(bytes);
    assert.equal(Buffer.from(q.body.mrEnclave).toString('hex'), r.mrEnclave);
    assert.equal(Buffer.from(bytes.subarray(112, 144)).toString('hex'), r.mrEnclave);
    assert.equal(q.certificationDataType, 5);
    // Re-encoding the parsed parts gives the same bytes.
    const again = encodeQuote({ header: q.header, body: q.body.raw, signature: q.signature, attestationKey: q.attestationKey, qeReport: q.qeReport.raw, qeReportSignature: q.qeReportSignature, qeAuthData: q.qeAuthData, certificationData: q.certificationData });
    assert.deepEqual(Buffer.from(again), Buffer.from(bytes));
  }
});
