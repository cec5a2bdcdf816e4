/**
 * Test support: a synthetic DCAP world rooted in a fresh test root — a PCK chain with SGX
 * extensions, a quote, and collateral (TCB Info, QE Identity, CRLs) built on demand with
 * options for levels, mismatches and revocations. Used by the collateral logic tests and the
 * license server's revocation tests.
 */
import * as der from '../crypto/der.ts';
import { generateP256KeyPair, signP256Sha256, type P256KeyPair } from '../crypto/ecdsa.ts';
import { certificateToPem, parseCertificate } from '../crypto/x509.ts';
import { createCertificate, createCrl } from '../crypto/x509-build.ts';
import { OID_SGX_EXTENSIONS } from './pck-extensions.ts';
import { createInsecureSimQuote, type InsecureSimChain } from './sim.ts';
import { parseQuote } from './quote.ts';
import type { Collateral, PinnedRoot, TcbStatus } from './types.ts';

/** The world's "now": every certificate and document is valid a day either side. */
export const NOW = new Date();
const nb = new Date(NOW.getTime() - 86_400_000);
const na = new Date(NOW.getTime() + 86_400_000);
/** The FMSPC of the world's PCK. */
export const FMSPC = '00906ed50000';

/** A synthetic DCAP world. */
export interface World {
  root: PinnedRoot;
  /** The PCK chain and key, to sign quotes with any REPORTDATA (createInsecureSimQuote). */
  chain: InsecureSimChain;
  quote: Uint8Array;
  leafSerial: string;
  caSerial: string;
  collateral: (o?: WorldOptions) => Collateral;
}

/** What to vary in the world's collateral. */
export interface WorldOptions {
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

/** One TCB Info level. */
export function level(comps: number[], pcesvn: number, tcbStatus: TcbStatus, advisoryIDs: string[] = []) {
  return { tcb: { sgxtcbcomponents: comps.map((svn) => ({ svn })), pcesvn }, tcbDate: '2024-01-01T00:00:00Z', tcbStatus, advisoryIDs };
}

/** 16 component SVNs with the first two set to `first`. */
export const C = (first: number): number[] => [first, first, 2, 2, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/** Builds a fresh world (new keys each call). */
export function makeWorld(): World {
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
  return { root: pinned, chain, quote, leafSerial: parseCertificate(leafDer).serialHex, caSerial: ca.serialHex, collateral };
}

