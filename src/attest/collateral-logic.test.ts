// Collateral logic on a synthetic DCAP world rooted in a fresh test root (the real collateral
// exercises one path only): TCB level selection, QE convergence, revocation, mismatches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as der from '../crypto/der.ts';
import { generateP256KeyPair, signP256Sha256, type P256KeyPair } from '../crypto/ecdsa.ts';
import { certificateToPem, parseCertificate } from '../crypto/x509.ts';
import { createCertificate, createCrl } from '../crypto/x509-build.ts';
import { EnclaveNnError } from '../errors.ts';
import { OID_SGX_EXTENSIONS } from './pck-extensions.ts';
import { createInsecureSimQuote, parseQuote, verifyQuote, type Collateral, type InsecureSimChain, type PinnedRoot, type TcbStatus } from './index.ts';
import { codeOf as codeOfCall } from './material.testkit.ts';

const NOW = new Date();
const nb = new Date(NOW.getTime() - 86_400_000);
const na = new Date(NOW.getTime() + 86_400_000);
const FMSPC = '00906ed50000';

interface World {
  root: PinnedRoot;
  quote: Uint8Array;
  leafSerial: string;
  caSerial: string;
  collateral: (o?: WorldOptions) => Collateral;
}

interface WorldOptions {
  tcbLevels?: unknown[];
  qeLevels?: unknown[];
  fmspc?: string;
  qeMrSigner?: string;
  attributesMask?: string;
  qeAttributes?: string;
  pckRevoked?: string[];
  rootRevoked?: string[];
  tcbSigner?: 'tcb' | 'misnamed';
}

/** The PCK SGX extension: FMSPC, PCE-ID 0000, 16 component SVNs and PCESVN. */
function sgxExtension(comps: number[], pceSvn: number): Uint8Array {
  const o = (n: string) => der.oid(`${OID_SGX_EXTENSIONS}.${n}`);
  const tcb = der.seq(
    ...comps.map((svn, i) => der.seq(o(`2.${i + 1}`), der.integer(svn))),
    der.seq(o('2.17'), der.integer(pceSvn)),
    der.seq(o('2.18'), der.octetString(Uint8Array.from(comps))),
  );
  return der.seq(
    der.seq(o('1'), der.octetString(new Uint8Array(16))),
    der.seq(o('2'), tcb),
    der.seq(o('3'), der.octetString(new Uint8Array(2))),
    der.seq(o('4'), der.octetString(Buffer.from(FMSPC, 'hex'))),
    der.seq(o('5'), der.tlv(der.Tag.ENUMERATED, Uint8Array.of(0))),
  );
}

function level(comps: number[], pcesvn: number, tcbStatus: TcbStatus, advisoryIDs: string[] = []) {
  return { tcb: { sgxtcbcomponents: comps.map((svn) => ({ svn })), pcesvn }, tcbDate: '2024-01-01T00:00:00Z', tcbStatus, advisoryIDs };
}

const C = (first: number) => [first, first, 2, 2, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

function makeWorld(): World {
  const k: Record<string, P256KeyPair> = { root: generateP256KeyPair(), ca: generateP256KeyPair(), leaf: generateP256KeyPair(), tcb: generateP256KeyPair() };
  const org = 'Intel Corporation';
  const rootDer = createCertificate({ subjectCN: 'Test SGX Root CA', organization: org, publicKey: k.root!.publicKey, notBefore: nb, notAfter: na, isCA: true }, undefined, k.root!.privateKey);
  const root = parseCertificate(rootDer);
  const byRoot = { subjectDer: root.subjectDer, privateKey: k.root!.privateKey };
  const caDer = createCertificate({ subjectCN: 'Test SGX PCK Processor CA', organization: org, publicKey: k.ca!.publicKey, notBefore: nb, notAfter: na, isCA: true }, byRoot);
  const ca = parseCertificate(caDer);
  const leafDer = createCertificate({
    subjectCN: 'Test SGX PCK Certificate', organization: org, publicKey: k.leaf!.publicKey, notBefore: nb, notAfter: na, isCA: false,
    extraExtensions: [{ oid: OID_SGX_EXTENSIONS, value: sgxExtension(C(11), 13) }],
  }, { subjectDer: ca.subjectDer, privateKey: k.ca!.privateKey });
  const tcbDer = createCertificate({ subjectCN: 'Intel SGX TCB Signing', organization: org, publicKey: k.tcb!.publicKey, notBefore: nb, notAfter: na, isCA: false }, byRoot);
  const misnamedDer = createCertificate({ subjectCN: 'Intel SGX Something Else', organization: org, publicKey: k.tcb!.publicKey, notBefore: nb, notAfter: na, isCA: false }, byRoot);
  const pinned = { name: 'test root', sha256: root.sha256 };
  const chain: InsecureSimChain = { dir: undefined, chainPem: certificateToPem(leafDer) + certificateToPem(caDer) + certificateToPem(rootDer), root: pinned, pckKey: k.leaf!.privateKey };
  const quote = createInsecureSimQuote({ mrEnclave: new Uint8Array(32), mrSigner: new Uint8Array(32), reportData: new Uint8Array(64) }, chain);
  const qe = parseQuote(quote).qeReport;
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();
  const collateral = (o: WorldOptions = {}): Collateral => {
    const day = (d: number) => new Date(NOW.getTime() + d * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const tcbInfo = JSON.stringify({
      id: 'SGX', version: 3, issueDate: day(-1), nextUpdate: day(1), fmspc: (o.fmspc ?? FMSPC).toUpperCase(), pceId: '0000', tcbType: 0, tcbEvaluationDataNumber: 17,
      tcbLevels: o.tcbLevels ?? [level(C(11), 13, 'UpToDate'), level(C(10), 13, 'OutOfDate', ['INTEL-SA-1'])],
    });
    const mask = o.attributesMask ?? 'FBFFFFFFFFFFFFFF0000000000000000';
    const qeIdentity = JSON.stringify({
      id: 'QE', version: 2, issueDate: day(-1), nextUpdate: day(1), tcbEvaluationDataNumber: 17,
      miscselect: '00000000', miscselectMask: 'FFFFFFFF', attributesMask: mask,
      attributes: o.qeAttributes ?? hex(qe.attributes.map((b, i) => b & Buffer.from(mask, 'hex')[i]!)),
      mrsigner: o.qeMrSigner ?? hex(qe.mrSigner), isvprodid: qe.isvProdId,
      tcbLevels: o.qeLevels ?? [{ tcb: { isvsvn: 0 }, tcbDate: '2024-01-01T00:00:00Z', tcbStatus: 'UpToDate' }],
    });
    const signer = o.tcbSigner === 'misnamed' ? misnamedDer : tcbDer;
    const signerChain = certificateToPem(signer) + certificateToPem(rootDer);
    const enc = (s: string) => new TextEncoder().encode(s);
    return {
      pckCrlIssuerChain: certificateToPem(caDer) + certificateToPem(rootDer),
      rootCaCrl: createCrl({ thisUpdate: nb, nextUpdate: na, revokedSerials: o.rootRevoked }, byRoot),
      pckCrl: createCrl({ thisUpdate: nb, nextUpdate: na, revokedSerials: o.pckRevoked }, { subjectDer: ca.subjectDer, privateKey: k.ca!.privateKey }),
      tcbInfoIssuerChain: signerChain, tcbInfo, tcbInfoSignature: signP256Sha256(enc(tcbInfo), k.tcb!.privateKey),
      qeIdentityIssuerChain: signerChain, qeIdentity, qeIdentitySignature: signP256Sha256(enc(qeIdentity), k.tcb!.privateKey),
    };
  };
  return { root: pinned, quote, leafSerial: parseCertificate(leafDer).serialHex, caSerial: ca.serialHex, collateral };
}

const world = makeWorld();
const ALL: TcbStatus[] = ['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded', 'Revoked'];
const run = (o: WorldOptions = {}) => verifyQuote(world.quote, { roots: [world.root], at: NOW, policy: { allowDebug: true }, collateral: world.collateral(o), tcbPolicy: { acceptedStatuses: ALL } });
function codeOf(o: WorldOptions): string {
  return codeOfCall(() => run(o));
}

test('synthetic collateral: the highest level the PCK reaches is selected', () => {
  assert.equal(run().tcb?.status, 'UpToDate');
  // A newer level above the PCK's component 1 (12 > 11) is skipped; the next one applies.
  const r = run({ tcbLevels: [level(C(12), 13, 'UpToDate'), level(C(11), 13, 'SWHardeningNeeded', ['INTEL-SA-2']), level(C(10), 13, 'OutOfDate')] });
  assert.equal(r.tcb?.status, 'SWHardeningNeeded');
  assert.deepEqual(r.tcb?.advisoryIds, ['INTEL-SA-2']);
  // PCESVN counts too: a level requiring PCESVN 14 is skipped.
  assert.equal(run({ tcbLevels: [level(C(11), 14, 'UpToDate'), level(C(11), 13, 'ConfigurationNeeded')] }).tcb?.status, 'ConfigurationNeeded');
  // Below every level: no status at all.
  assert.equal(codeOf({ tcbLevels: [level(C(12), 13, 'UpToDate')] }), 'ATTEST_TCB');
});

test('synthetic collateral: an out-of-date QE downgrades the platform status (Intel QVL convergence)', () => {
  const qeOld = [{ tcb: { isvsvn: 1 }, tcbDate: '2024-01-01T00:00:00Z', tcbStatus: 'UpToDate' }, { tcb: { isvsvn: 0 }, tcbDate: '2023-01-01T00:00:00Z', tcbStatus: 'OutOfDate', advisoryIDs: ['INTEL-SA-Q'] }];
  const r = run({ qeLevels: qeOld, tcbLevels: [level(C(11), 13, 'SWHardeningNeeded', ['INTEL-SA-2'])] });
  assert.equal(r.tcb?.status, 'OutOfDate');
  assert.equal(r.tcb?.qeStatus, 'OutOfDate');
  assert.equal(r.tcb?.platformStatus, 'SWHardeningNeeded');
  assert.deepEqual(r.tcb?.advisoryIds, ['INTEL-SA-2', 'INTEL-SA-Q']);
  assert.equal(run({ qeLevels: qeOld, tcbLevels: [level(C(11), 13, 'ConfigurationAndSWHardeningNeeded')] }).tcb?.status, 'OutOfDateConfigurationNeeded');
  const revoked = [{ tcb: { isvsvn: 0 }, tcbDate: '2023-01-01T00:00:00Z', tcbStatus: 'Revoked' }];
  assert.equal(run({ qeLevels: revoked }).tcb?.status, 'Revoked');
  assert.equal(codeOf({ qeLevels: [{ tcb: { isvsvn: 1 }, tcbDate: '2024-01-01T00:00:00Z', tcbStatus: 'UpToDate' }] }), 'ATTEST_TCB');
});

test('synthetic collateral: revoked certificates are refused', () => {
  assert.equal(codeOf({ pckRevoked: [world.leafSerial] }), 'ATTEST_REVOKED');
  assert.equal(codeOf({ rootRevoked: [world.caSerial] }), 'ATTEST_REVOKED');
  assert.equal(codeOf({ pckRevoked: ['01', '7f'] }), 'ACCEPTED');
});

test('synthetic collateral: FMSPC, QE identity and signer mismatches are refused', () => {
  assert.equal(codeOf({ fmspc: '00906ed50001' }), 'ATTEST_TCB_MISMATCH');
  assert.equal(codeOf({ qeMrSigner: 'AB'.repeat(32) }), 'ATTEST_QE_IDENTITY');
  // Masked ATTRIBUTES: a full mask still matches when the identity lists the QE's value; other values do not.
  assert.equal(codeOf({ attributesMask: 'FFFFFFFFFFFFFFFF0000000000000000' }), 'ACCEPTED');
  assert.equal(codeOf({ attributesMask: 'FFFFFFFFFFFFFFFF0000000000000000', qeAttributes: '05000000000000000000000000000000' }), 'ATTEST_QE_IDENTITY');
  assert.equal(codeOf({ tcbSigner: 'misnamed' }), 'ATTEST_CHAIN');
});

test('synthetic collateral: the TCB policy is applied to the converged status', () => {
  const opts = { roots: [world.root], at: NOW, policy: { allowDebug: true }, collateral: world.collateral({ tcbLevels: [level(C(11), 13, 'OutOfDate')] }) };
  assert.throws(() => verifyQuote(world.quote, opts), (e: unknown) => e instanceof EnclaveNnError && e.code === 'ATTEST_TCB');
  assert.equal(verifyQuote(world.quote, { ...opts, tcbPolicy: { acceptedStatuses: ['OutOfDate'] } }).tcb?.status, 'OutOfDate');
});
