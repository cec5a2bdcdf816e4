/**
 * DCAP collateral verification (docs/attestation.md §5): TCB Info and QE Identity signed by the
 * Intel SGX TCB Signing certificate under the pinned root, their issue/next-update window, the
 * QE report against QE Identity, FMSPC and PCE-ID against the PCK certificate, TCB level
 * selection, and the root and PCK CRLs. Semantics follow Intel's QVL (QuoteVerifier.cpp,
 * TcbLevelCheck, convergeTcbStatusWithQeTcbStatus).
 */
import { EnclaveNnError } from '../errors.ts';
import { verifyP256Sha256 } from '../crypto/ecdsa.ts';
import { equalBytes, type Certificate } from '../crypto/x509.ts';
import { isCrlCurrentAt, isCrlIssuedBy, parseCrl, type Crl } from '../crypto/x509-crl.ts';
import { verifyChain, type VerifiedChain } from './chain.ts';
import type { DcapQvlCollateralJson, QeIdentityJson, TcbInfoJson } from './collateral-format.ts';
import { parsePckExtensions } from './pck-extensions.ts';
import { rawJsonMember } from './raw-json.ts';
import type { Collateral, PinnedRoot, Quote, TcbStatus, TcbVerdict } from './types.ts';
import { toHex } from '../util/encoding.ts';

const STATUSES: readonly TcbStatus[] = [
  'UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded',
  'OutOfDate', 'OutOfDateConfigurationNeeded', 'Revoked',
];
/** The subject CN of the certificate that signs TCB Info and QE Identity. */
const TCB_SIGNING_CN = 'Intel SGX TCB Signing';


function unhex(s: unknown, what: string, size?: number): Uint8Array {
  if (typeof s !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(s) || (size !== undefined && s.length !== size * 2)) {
    throw new EnclaveNnError('ATTEST_COLLATERAL_PARSE', `Cannot read collateral: ${what} is not ${size ?? 'some'} bytes of hex`);
  }
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** Splits a PCS body `{"tcbInfo":…,"signature":"…"}` into (exact value text, signature), or passes a bare value through. */
function signedValue(text: string, member: string, signatureHex: string | undefined, what: string): { text: string; signature: Uint8Array } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new EnclaveNnError('ATTEST_COLLATERAL_PARSE', `Cannot read collateral: ${what} is not JSON`, { cause: e });
  }
  if (parsed && typeof parsed === 'object' && member in parsed) {
    const sig = (parsed as Record<string, unknown>)['signature'];
    return { text: rawJsonMember(text, member), signature: unhex(sig, `${what} signature`, 64) };
  }
  return { text, signature: unhex(signatureHex, `${what} signature`, 64) };
}

/**
 * Reads collateral in dcap-qvl's JSON form (`sample/sgx_quote_collateral.json`): snake_case
 * members, CRLs and signatures in hex; `tcb_info` / `qe_identity` may also be whole PCS
 * response bodies, from which the signed value is cut out verbatim.
 *
 * @example
 * ```ts
 * const collateral = parseCollateralJson(readFileSync('collateral.json', 'utf8'));
 * verifyQuote(quote, { roots: [INTEL_SGX_ROOT_CA], at, policy, collateral, tcbPolicy: { acceptedStatuses: ['UpToDate'] } });
 * ```
 */
export function parseCollateralJson(text: string): Collateral {
  let j: DcapQvlCollateralJson;
  try {
    j = JSON.parse(text) as DcapQvlCollateralJson;
  } catch (e) {
    throw new EnclaveNnError('ATTEST_COLLATERAL_PARSE', 'Cannot read collateral: not JSON', { cause: e });
  }
  for (const k of ['pck_crl_issuer_chain', 'root_ca_crl', 'pck_crl', 'tcb_info_issuer_chain', 'tcb_info', 'qe_identity_issuer_chain', 'qe_identity'] as const) {
    if (typeof j[k] !== 'string') throw new EnclaveNnError('ATTEST_COLLATERAL_PARSE', `Cannot read collateral: member ${k} is missing or not a string`);
  }
  const tcb = signedValue(j.tcb_info, 'tcbInfo', j.tcb_info_signature, 'tcb_info');
  const qe = signedValue(j.qe_identity, 'enclaveIdentity', j.qe_identity_signature, 'qe_identity');
  return {
    pckCrlIssuerChain: j.pck_crl_issuer_chain,
    rootCaCrl: unhex(j.root_ca_crl, 'root_ca_crl'),
    pckCrl: unhex(j.pck_crl, 'pck_crl'),
    tcbInfoIssuerChain: j.tcb_info_issuer_chain,
    tcbInfo: tcb.text,
    tcbInfoSignature: tcb.signature,
    qeIdentityIssuerChain: j.qe_identity_issuer_chain,
    qeIdentity: qe.text,
    qeIdentitySignature: qe.signature,
  };
}

/** Verifies one signed collateral document; returns its parsed JSON. */
function verifySigned<T>(text: string, signature: Uint8Array, chainPem: string, roots: readonly PinnedRoot[], at: Date, what: string): { doc: T; signer: Certificate } {
  // Length 2 (signing cert directly under the root) and the TCB Signing name: a PCK leaf, even
  // one whose key leaked from a broken platform, must never be able to sign TCB data.
  const chain = verifyChain(chainPem, roots, at, `${what} signing chain`, 2);
  if (chain.leaf.subjectCN !== TCB_SIGNING_CN) {
    throw new EnclaveNnError('ATTEST_CHAIN', `Cannot verify ${what}: it is signed by "${chain.leaf.subjectCN}", not "${TCB_SIGNING_CN}"`);
  }
  // Signed bytes: the exact UTF-8 text of the value, as Intel served it.
  if (!verifyP256Sha256(new TextEncoder().encode(text), signature, chain.leaf.publicKey)) {
    throw new EnclaveNnError('ATTEST_COLLATERAL_SIGNATURE', `Cannot verify ${what}: its signature does not verify with the TCB Signing key`);
  }
  let doc: T;
  try {
    doc = JSON.parse(text) as T;
  } catch (e) {
    throw new EnclaveNnError('ATTEST_COLLATERAL_PARSE', `Cannot read ${what}: not JSON`, { cause: e });
  }
  const d = doc as { issueDate?: unknown; nextUpdate?: unknown };
  const issue = Date.parse(String(d.issueDate));
  const next = Date.parse(String(d.nextUpdate));
  if (Number.isNaN(issue) || Number.isNaN(next)) throw new EnclaveNnError('ATTEST_COLLATERAL_PARSE', `Cannot read ${what}: issueDate/nextUpdate are not dates`);
  if (at.getTime() < issue || at.getTime() > next) {
    throw new EnclaveNnError('ATTEST_COLLATERAL_EXPIRED', `Cannot use ${what}: it is valid ${String(d.issueDate)} .. ${String(d.nextUpdate)}, not at ${at.toISOString()}`);
  }
  return { doc, signer: chain.leaf };
}

function checkCrl(crl: Crl, issuer: Certificate, at: Date, what: string): void {
  if (!isCrlIssuedBy(crl, issuer)) throw new EnclaveNnError('ATTEST_CRL', `Cannot verify ${what}: it is not signed by "${issuer.subjectCN}"`);
  if (!isCrlCurrentAt(crl, at)) {
    throw new EnclaveNnError('ATTEST_COLLATERAL_EXPIRED', `Cannot use ${what}: it is valid ${crl.thisUpdate.toISOString()} .. ${crl.nextUpdate?.toISOString() ?? '(no nextUpdate)'}, not at ${at.toISOString()}`);
  }
}

function notRevoked(crl: Crl, cert: Certificate, what: string): void {
  if (crl.revokedSerials.has(cert.serialHex)) {
    throw new EnclaveNnError('ATTEST_REVOKED', `Cannot accept quote: "${cert.subjectCN}" (serial ${cert.serialHex}) is revoked by the ${what}`);
  }
}

function status(s: unknown, what: string): TcbStatus {
  if (!STATUSES.includes(s as TcbStatus)) throw new EnclaveNnError('ATTEST_COLLATERAL_PARSE', `Cannot read ${what}: unknown tcbStatus ${String(s)}`);
  return s as TcbStatus;
}

/** Intel QVL `convergeTcbStatusWithQeTcbStatus`: an out-of-date QE downgrades the platform status. */
function converge(platform: TcbStatus, qe: TcbStatus): TcbStatus {
  if (qe === 'Revoked') return 'Revoked';
  if (qe === 'OutOfDate') {
    if (platform === 'UpToDate' || platform === 'SWHardeningNeeded') return 'OutOfDate';
    if (platform === 'ConfigurationNeeded' || platform === 'ConfigurationAndSWHardeningNeeded') return 'OutOfDateConfigurationNeeded';
  }
  return platform;
}

function masked(value: Uint8Array, mask: Uint8Array): Uint8Array {
  return value.map((b, i) => b & mask[i]!);
}

/**
 * Verifies DCAP collateral for a quote whose PCK chain `pck` already verified, and evaluates its
 * TCB (docs/attestation.md §5). Throws `ATTEST_CHAIN`, `ATTEST_ROOT_NOT_PINNED`,
 * `ATTEST_CERT_EXPIRED`, `ATTEST_COLLATERAL_PARSE`, `ATTEST_COLLATERAL_SIGNATURE`,
 * `ATTEST_COLLATERAL_EXPIRED`, `ATTEST_CRL`, `ATTEST_REVOKED`, `ATTEST_PCK_EXTENSION`,
 * `ATTEST_TCB_MISMATCH`, `ATTEST_QE_IDENTITY` or `ATTEST_TCB`; the caller applies the TCB policy.
 */
export function verifyCollateral(quote: Quote, pck: VerifiedChain, c: Collateral, roots: readonly PinnedRoot[], at: Date): TcbVerdict {
  // §5.1 signed documents and their validity windows.
  const tcb = verifySigned<TcbInfoJson>(c.tcbInfo, c.tcbInfoSignature, c.tcbInfoIssuerChain, roots, at, 'TCB Info');
  const qe = verifySigned<QeIdentityJson>(c.qeIdentity, c.qeIdentitySignature, c.qeIdentityIssuerChain, roots, at, 'QE Identity');
  const info = tcb.doc;
  if (info.id !== 'SGX' || info.version !== 3 || info.tcbType !== 0 || !Array.isArray(info.tcbLevels)) {
    throw new EnclaveNnError('ATTEST_COLLATERAL_PARSE', `Cannot read TCB Info: only SGX TCB Info v3 with tcbType 0 is supported (got id ${String(info.id)}, version ${String(info.version)})`);
  }
  const ident = qe.doc;
  if (ident.id !== 'QE' || ident.version !== 2 || !Array.isArray(ident.tcbLevels)) {
    throw new EnclaveNnError('ATTEST_COLLATERAL_PARSE', `Cannot read QE Identity: only QE Identity v2 is supported (got id ${String(ident.id)}, version ${String(ident.version)})`);
  }
  // §5.2 revocation: the root CRL covers the CAs under the root, the PCK CRL the PCK leaf.
  const pckCa = pck.certs[1]!;
  let rootCrl: Crl;
  let pckCrl: Crl;
  try {
    rootCrl = parseCrl(c.rootCaCrl);
    pckCrl = parseCrl(c.pckCrl);
  } catch (e) {
    throw new EnclaveNnError('ATTEST_CRL', `Cannot read a CRL: ${(e as Error).message}`, { cause: e });
  }
  checkCrl(rootCrl, pck.root, at, 'root CA CRL');
  const crlChain = verifyChain(c.pckCrlIssuerChain, roots, at, 'PCK CRL issuer chain', 2, 'ca');
  if (!equalBytes(crlChain.leaf.der, pckCa.der)) {
    throw new EnclaveNnError('ATTEST_CRL', `Cannot verify PCK CRL: its issuer chain names "${crlChain.leaf.subjectCN}", not the quote's "${pckCa.subjectCN}"`);
  }
  checkCrl(pckCrl, pckCa, at, 'PCK CRL');
  notRevoked(rootCrl, pckCa, 'root CA CRL');
  notRevoked(rootCrl, tcb.signer, 'root CA CRL');
  notRevoked(rootCrl, qe.signer, 'root CA CRL');
  notRevoked(pckCrl, pck.leaf, 'PCK CRL');
  // §5.3 the TCB Info must describe this platform.
  const ext = parsePckExtensions(pck.leaf);
  if (toHex(ext.fmspc) !== String(info.fmspc).toLowerCase()) {
    throw new EnclaveNnError('ATTEST_TCB_MISMATCH', `Cannot evaluate TCB: PCK FMSPC ${toHex(ext.fmspc)} is not the TCB Info's ${String(info.fmspc)}`);
  }
  if (toHex(ext.pceId) !== String(info.pceId).toLowerCase()) {
    throw new EnclaveNnError('ATTEST_TCB_MISMATCH', `Cannot evaluate TCB: PCK PCE-ID ${toHex(ext.pceId)} is not the TCB Info's ${String(info.pceId)}`);
  }
  // §5.4 the QE report against QE Identity.
  const r = quote.qeReport;
  const miscMask = unhex(ident.miscselectMask, 'miscselectMask', 4);
  const misc = new Uint8Array(4);
  new DataView(misc.buffer).setUint32(0, r.miscSelect, true);
  // Intel writes MISCSELECT as big-endian hex of the u32.
  const miscBE = misc.slice().reverse();
  if (!equalBytes(masked(miscBE, miscMask), unhex(ident.miscselect, 'miscselect', 4))) {
    throw new EnclaveNnError('ATTEST_QE_IDENTITY', 'Cannot accept quote: QE MISCSELECT does not match QE Identity');
  }
  if (!equalBytes(masked(r.attributes, unhex(ident.attributesMask, 'attributesMask', 16)), unhex(ident.attributes, 'attributes', 16))) {
    throw new EnclaveNnError('ATTEST_QE_IDENTITY', 'Cannot accept quote: QE ATTRIBUTES do not match QE Identity');
  }
  if (!equalBytes(r.mrSigner, unhex(ident.mrsigner, 'mrsigner', 32))) {
    throw new EnclaveNnError('ATTEST_QE_IDENTITY', `Cannot accept quote: QE MRSIGNER ${toHex(r.mrSigner)} is not QE Identity's`);
  }
  if (r.isvProdId !== ident.isvprodid) {
    throw new EnclaveNnError('ATTEST_QE_IDENTITY', `Cannot accept quote: QE ISVPRODID ${r.isvProdId} is not QE Identity's ${String(ident.isvprodid)}`);
  }
  // QE TCB level: the first (highest) level whose ISVSVN the QE reaches.
  const qeLevel = ident.tcbLevels.find((l) => r.isvSvn >= l.tcb.isvsvn);
  if (!qeLevel) throw new EnclaveNnError('ATTEST_TCB', `Cannot evaluate TCB: QE ISVSVN ${r.isvSvn} is below every QE Identity level`);
  const qeStatus = status(qeLevel.tcbStatus, 'QE Identity');
  // §5.5 platform TCB level: the first level whose 16 component SVNs and PCESVN the PCK reaches.
  const level = info.tcbLevels.find((l) => {
    const comps = l.tcb.sgxtcbcomponents;
    if (!Array.isArray(comps) || comps.length !== 16) {
      throw new EnclaveNnError('ATTEST_COLLATERAL_PARSE', 'Cannot read TCB Info: a level does not have 16 sgxtcbcomponents');
    }
    return comps.every((comp, i) => ext.tcbComponents[i]! >= comp.svn) && ext.pceSvn >= l.tcb.pcesvn;
  });
  if (!level) throw new EnclaveNnError('ATTEST_TCB', `Cannot evaluate TCB: the PCK's TCB (PCESVN ${ext.pceSvn}) is below every TCB Info level`);
  const platformStatus = status(level.tcbStatus, 'TCB Info');
  const advisoryIds = [...new Set([...(level.advisoryIDs ?? []), ...(qeLevel.advisoryIDs ?? [])])];
  return {
    status: converge(platformStatus, qeStatus),
    advisoryIds,
    platformStatus,
    qeStatus,
    fmspc: String(info.fmspc),
    tcbDate: level.tcbDate,
    tcbEvaluationDataNumber: info.tcbEvaluationDataNumber,
  };
}
