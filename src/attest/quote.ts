/**
 * Strict parser and encoder for Intel SGX DCAP ECDSA quotes, version 3
 * (Intel SGXDataCenterAttestationPrimitives `sgx_quote_3.h`; layout in docs/attestation.md §2).
 *
 * A reader MUST reject (docs/attestation.md §2.5): a version other than 3, an attestation key
 * type other than 2, a TEE type other than 0, a QE vendor id other than Intel's, a signature
 * data length that disagrees with the quote size, a QE auth data or certification data length
 * that runs past the signature data or leaves bytes unused, and a certification data type other
 * than 5. No byte after the signature data is allowed.
 */
import { EnclaveNnError } from '../errors.ts';
import type { Quote, QuoteHeader, QuoteParts, ReportBody } from './types.ts';
import { toHex } from '../util/encoding.ts';

/** Sizes and offsets of `sgx_quote_3.h` (docs/attestation.md §2). */
export const QUOTE = {
  HEADER_SIZE: 48,
  REPORT_BODY_SIZE: 384,
  /** Header ‖ ISV report body. */
  SIGNED_SIZE: 432,
  /** u32 signature data length at 432, signature data from 436. */
  SIG_DATA_OFFSET: 436,
  VERSION: 3,
  ATT_KEY_TYPE_ECDSA_P256: 2,
  TEE_TYPE_SGX: 0,
  CERT_TYPE_PCK_CHAIN_PEM: 5,
  /** Intel's quoting enclave vendor id. */
  INTEL_QE_VENDOR_ID: '939a7233f79c4ca9940a0db3957f0607',
} as const;

/** Report body field offsets (`sgx_report_body_t`, sgx_report.h). */
const RB = { CPU_SVN: 0, MISC_SELECT: 16, ATTRIBUTES: 48, MR_ENCLAVE: 64, MR_SIGNER: 128, ISV_PROD_ID: 256, ISV_SVN: 258, REPORT_DATA: 320 } as const;
/** attributes.flags bit 1 (SGX_FLAGS_DEBUG). */
const FLAG_DEBUG = 0x02;

function fail(why: string): never {
  throw new EnclaveNnError('ATTEST_PARSE', `Cannot parse quote: ${why}`);
}

/** Parses a 384-byte `sgx_report_body_t` (views into `raw`). */
export function parseReportBody(raw: Uint8Array): ReportBody {
  if (raw.length !== QUOTE.REPORT_BODY_SIZE) fail(`report body is ${raw.length} bytes, expected 384`);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const attributes = raw.subarray(RB.ATTRIBUTES, RB.ATTRIBUTES + 16);
  return {
    raw,
    cpuSvn: raw.subarray(RB.CPU_SVN, RB.CPU_SVN + 16),
    miscSelect: dv.getUint32(RB.MISC_SELECT, true),
    attributes,
    mrEnclave: raw.subarray(RB.MR_ENCLAVE, RB.MR_ENCLAVE + 32),
    mrSigner: raw.subarray(RB.MR_SIGNER, RB.MR_SIGNER + 32),
    isvProdId: dv.getUint16(RB.ISV_PROD_ID, true),
    isvSvn: dv.getUint16(RB.ISV_SVN, true),
    reportData: raw.subarray(RB.REPORT_DATA, RB.REPORT_DATA + 64),
    debug: (attributes[0]! & FLAG_DEBUG) !== 0,
  };
}

/**
 * Parses a DCAP ECDSA quote v3. Throws EnclaveNnError `ATTEST_PARSE` naming the first violation.
 * The returned byte fields are views into `bytes`.
 *
 * @example
 * ```ts
 * const q = parseQuote(await readFile('quote.bin'));
 * Buffer.from(q.body.mrEnclave).toString('hex');
 * ```
 */
export function parseQuote(bytes: Uint8Array): Quote {
  if (bytes.length < QUOTE.SIG_DATA_OFFSET) fail(`${bytes.length} bytes is shorter than header, body and length (436)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // §2.1 header
  const version = dv.getUint16(0, true);
  if (version !== QUOTE.VERSION) fail(`version ${version} is not 3`);
  const attestationKeyType = dv.getUint16(2, true);
  if (attestationKeyType !== QUOTE.ATT_KEY_TYPE_ECDSA_P256) fail(`attestation key type ${attestationKeyType} is not 2 (ECDSA P-256)`);
  const teeType = dv.getUint32(4, true);
  if (teeType !== QUOTE.TEE_TYPE_SGX) fail(`TEE type ${teeType} is not 0 (SGX)`);
  const qeVendorId = bytes.subarray(12, 28);
  if (toHex(qeVendorId) !== QUOTE.INTEL_QE_VENDOR_ID) fail(`QE vendor id ${toHex(qeVendorId)} is not Intel's`);
  const header: QuoteHeader = {
    version, attestationKeyType, teeType,
    qeSvn: dv.getUint16(8, true),
    pceSvn: dv.getUint16(10, true),
    qeVendorId,
    userData: bytes.subarray(28, 48),
  };
  // §2.2 ISV report body
  const body = parseReportBody(bytes.subarray(48, 432));
  // §2.3 signature data: its declared length must cover exactly the rest of the quote.
  const sigLen = dv.getUint32(432, true);
  if (QUOTE.SIG_DATA_OFFSET + sigLen !== bytes.length) {
    fail(`signature data length ${sigLen} disagrees with the quote size ${bytes.length} (expected ${bytes.length - QUOTE.SIG_DATA_OFFSET})`);
  }
  let p = QUOTE.SIG_DATA_OFFSET;
  const take = (n: number, what: string): Uint8Array => {
    if (p + n > bytes.length) fail(`${what} (${n} bytes at ${p}) runs past the end`);
    const out = bytes.subarray(p, p + n);
    p += n;
    return out;
  };
  const signature = take(64, 'quote signature');
  const attestationKey = take(64, 'attestation key');
  const qeReport = parseReportBody(take(384, 'QE report'));
  const qeReportSignature = take(64, 'QE report signature');
  const authSize = dv.getUint16(take(2, 'QE auth data size').byteOffset - bytes.byteOffset, true);
  const qeAuthData = take(authSize, 'QE auth data');
  const certHeadAt = take(6, 'certification data header').byteOffset - bytes.byteOffset;
  const certificationDataType = dv.getUint16(certHeadAt, true);
  const certSize = dv.getUint32(certHeadAt + 2, true);
  if (certificationDataType !== QUOTE.CERT_TYPE_PCK_CHAIN_PEM) fail(`certification data type ${certificationDataType} is not 5 (PEM PCK chain)`);
  const certificationData = take(certSize, 'certification data');
  if (p !== bytes.length) fail(`${bytes.length - p} bytes after the certification data`);
  return {
    header, body,
    signedRegion: bytes.subarray(0, QUOTE.SIGNED_SIZE),
    signature, attestationKey, qeReport, qeReportSignature, qeAuthData,
    certificationDataType, certificationData,
  };
}

/**
 * Encodes a quote v3 from its parts (version 3, key type 2, TEE type 0, certification type 5).
 * Used by the simulated quoting enclave; `parseQuote(encodeQuote(p))` gives back `p`.
 */
export function encodeQuote(parts: QuoteParts): Uint8Array {
  const fixed: Array<[Uint8Array, number, string]> = [
    [parts.header.qeVendorId, 16, 'qeVendorId'], [parts.header.userData, 20, 'userData'],
    [parts.body, 384, 'body'], [parts.signature, 64, 'signature'], [parts.attestationKey, 64, 'attestationKey'],
    [parts.qeReport, 384, 'qeReport'], [parts.qeReportSignature, 64, 'qeReportSignature'],
  ];
  for (const [b, n, what] of fixed) if (b.length !== n) throw new RangeError(`encodeQuote: ${what} must be ${n} bytes, got ${b.length}`);
  if (parts.qeAuthData.length > 0xffff) throw new RangeError('encodeQuote: qeAuthData exceeds 65535 bytes');
  const sigLen = 64 + 64 + 384 + 64 + 2 + parts.qeAuthData.length + 6 + parts.certificationData.length;
  const out = new Uint8Array(QUOTE.SIG_DATA_OFFSET + sigLen);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, QUOTE.VERSION, true);
  dv.setUint16(2, QUOTE.ATT_KEY_TYPE_ECDSA_P256, true);
  dv.setUint32(4, QUOTE.TEE_TYPE_SGX, true);
  dv.setUint16(8, parts.header.qeSvn, true);
  dv.setUint16(10, parts.header.pceSvn, true);
  out.set(parts.header.qeVendorId, 12);
  out.set(parts.header.userData, 28);
  out.set(parts.body, 48);
  dv.setUint32(432, sigLen, true);
  let p = QUOTE.SIG_DATA_OFFSET;
  for (const b of [parts.signature, parts.attestationKey, parts.qeReport, parts.qeReportSignature]) {
    out.set(b, p);
    p += b.length;
  }
  dv.setUint16(p, parts.qeAuthData.length, true);
  out.set(parts.qeAuthData, p + 2);
  p += 2 + parts.qeAuthData.length;
  dv.setUint16(p, QUOTE.CERT_TYPE_PCK_CHAIN_PEM, true);
  dv.setUint32(p + 2, parts.certificationData.length, true);
  out.set(parts.certificationData, p + 6);
  return out;
}

/** Fields of a report body to encode; absent fields are zero. */
export interface ReportBodyFields {
  readonly cpuSvn?: Uint8Array;
  readonly miscSelect?: number;
  readonly attributes?: Uint8Array;
  readonly mrEnclave?: Uint8Array;
  readonly mrSigner?: Uint8Array;
  readonly isvProdId?: number;
  readonly isvSvn?: number;
  readonly reportData?: Uint8Array;
}

/** Encodes a 384-byte `sgx_report_body_t`; reserved fields are zero. */
export function encodeReportBody(f: ReportBodyFields): Uint8Array {
  const out = new Uint8Array(QUOTE.REPORT_BODY_SIZE);
  const dv = new DataView(out.buffer);
  const put = (b: Uint8Array | undefined, off: number, n: number, what: string) => {
    if (b === undefined) return;
    if (b.length !== n) throw new RangeError(`encodeReportBody: ${what} must be ${n} bytes, got ${b.length}`);
    out.set(b, off);
  };
  put(f.cpuSvn, RB.CPU_SVN, 16, 'cpuSvn');
  dv.setUint32(RB.MISC_SELECT, f.miscSelect ?? 0, true);
  put(f.attributes, RB.ATTRIBUTES, 16, 'attributes');
  put(f.mrEnclave, RB.MR_ENCLAVE, 32, 'mrEnclave');
  put(f.mrSigner, RB.MR_SIGNER, 32, 'mrSigner');
  dv.setUint16(RB.ISV_PROD_ID, f.isvProdId ?? 0, true);
  dv.setUint16(RB.ISV_SVN, f.isvSvn ?? 0, true);
  put(f.reportData, RB.REPORT_DATA, 64, 'reportData');
  return out;
}
