/**
 * Quote verification test vectors (testdata/vectors/attest/, format in its README.md): quotes
 * from a throw-away test chain, each with the root to pin, the time, the policy and the
 * expected outcome. ECDSA and key generation are randomised, so regenerating gives new files
 * with the same meaning:
 *
 *     npx tsx src/attest/vectors.testkit.ts --write
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateP256KeyPair } from '../crypto/ecdsa.ts';
import { certificateToPem, parseCertificate } from '../crypto/x509.ts';
import { createCertificate } from '../crypto/x509-build.ts';
import { createInsecureSimQuote, type InsecureSimChain } from './sim.ts';
import { reportDataFor } from './report-data.ts';

/** Where the vectors live. */
export const VECTOR_DIR = fileURLToPath(new URL('../../testdata/vectors/attest/', import.meta.url));

/** One vector: its preamble fields and the quote bytes. */
export interface AttestVector {
  readonly name: string;
  /** `success`, or the failure class. */
  readonly expect: string;
  /** The reference implementation's error code (absent for success). */
  readonly code?: string;
  readonly rootSha256: string;
  readonly at: Date;
  /** The policy as JSON (hex strings for byte fields). */
  readonly policy: { mrEnclave?: string[]; allowDebug?: boolean; reportData?: string };
  readonly comment: string;
  readonly quote: Uint8Array;
}

/** Reads every vector file of {@link VECTOR_DIR}. */
export function readVectors(dir = VECTOR_DIR): AttestVector[] {
  return readdirSync(dir).filter((n) => !n.includes('.')).sort().map((name) => {
    const bytes = readFileSync(`${dir}/${name}`);
    const end = bytes.indexOf('\n\n');
    const fields = new Map(bytes.subarray(0, end).toString('utf8').split('\n').map((l) => {
      const i = l.indexOf(': ');
      return [l.slice(0, i), l.slice(i + 2)] as [string, string];
    }));
    return {
      name,
      expect: fields.get('expect')!,
      ...(fields.get('code') ? { code: fields.get('code')! } : {}),
      rootSha256: fields.get('root sha256')!,
      at: new Date(fields.get('at')!),
      policy: JSON.parse(fields.get('policy')!),
      comment: fields.get('comment') ?? '',
      quote: new Uint8Array(bytes.subarray(end + 2)),
    };
  });
}

function serialize(v: AttestVector): Uint8Array {
  const head = [
    `expect: ${v.expect}`, ...(v.code ? [`code: ${v.code}`] : []), `root sha256: ${v.rootSha256}`, `at: ${v.at.toISOString()}`,
    `policy: ${JSON.stringify(v.policy)}`, `comment: ${v.comment}`,
  ].join('\n');
  return Buffer.concat([Buffer.from(head + '\n\n'), v.quote]);
}

function chainWith(rootCN: string, at: Date, options: { wrongIntermediateKey?: boolean } = {}): InsecureSimChain {
  const nb = new Date(at.getTime() - 86_400_000);
  const na = new Date(at.getTime() + 365 * 86_400_000);
  const [r, i, l, x] = [generateP256KeyPair(), generateP256KeyPair(), generateP256KeyPair(), generateP256KeyPair()];
  const rootDer = createCertificate({ subjectCN: rootCN, organization: 'Enclave-NN test vectors', publicKey: r.publicKey, notBefore: nb, notAfter: na, isCA: true }, undefined, r.privateKey);
  const root = parseCertificate(rootDer);
  const interDer = createCertificate({ subjectCN: 'Test PCK CA', publicKey: i.publicKey, notBefore: nb, notAfter: na, isCA: true }, { subjectDer: root.subjectDer, privateKey: r.privateKey });
  const inter = parseCertificate(interDer);
  const leafDer = createCertificate({ subjectCN: 'Test PCK Certificate', publicKey: l.publicKey, notBefore: nb, notAfter: na, isCA: false },
    { subjectDer: inter.subjectDer, privateKey: options.wrongIntermediateKey ? x.privateKey : i.privateKey });
  return { dir: undefined, chainPem: certificateToPem(leafDer) + certificateToPem(interDer) + certificateToPem(rootDer), root: { name: rootCN, sha256: root.sha256 }, pckKey: l.privateKey };
}

/** Builds a fresh set of vectors (random keys; same meanings every time). */
export function buildVectors(): AttestVector[] {
  const at = new Date('2026-01-01T00:00:00Z');
  const chain = chainWith('Enclave-NN Test Root CA', at);
  const mrEnclave = new Uint8Array(32).fill(0x11);
  const reportData = reportDataFor(new Uint8Array(32).fill(0x22), new Uint8Array(32).fill(0x33));
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const report = { mrEnclave, mrSigner: new Uint8Array(32).fill(0x44), isvProdId: 1, isvSvn: 2, reportData };
  const good = createInsecureSimQuote(report, chain);
  const policy = { mrEnclave: [hex(mrEnclave)], allowDebug: true, reportData: hex(reportData) };
  const v = (name: string, expect: string, code: string | undefined, quote: Uint8Array, comment: string, over: Partial<AttestVector> = {}): AttestVector =>
    ({ name, expect, ...(code ? { code } : {}), rootSha256: chain.root.sha256, at, policy, comment, quote, ...over });
  const edit = (f: (b: Uint8Array, dv: DataView) => void): Uint8Array => {
    const b = new Uint8Array(good);
    f(b, new DataView(b.buffer));
    return b;
  };
  const badIssuer = chainWith('Enclave-NN Test Root CA', at, { wrongIntermediateKey: true });
  const authOff = 1014;
  const authSize = new DataView(good.buffer).getUint16(1012, true);
  const certOff = authOff + authSize;
  const pemStart = certOff + 6;
  return [
    v('success', 'success', undefined, good, 'a DEBUG quote from the test chain; policy allows debug, names MRENCLAVE and REPORTDATA'),
    v('policy-debug-refused', 'policy-failure', 'ATTEST_POLICY_DEBUG', good, 'the same quote under a policy that does not allow debug', { policy: { ...policy, allowDebug: false } }),
    v('policy-mrenclave', 'policy-failure', 'ATTEST_POLICY_MRENCLAVE', good, 'MRENCLAVE not in the policy', { policy: { ...policy, mrEnclave: ['ff'.repeat(32)] } }),
    v('policy-reportdata', 'policy-failure', 'ATTEST_REPORTDATA', good, 'REPORTDATA bound to another key', { policy: { ...policy, reportData: hex(reportDataFor(new Uint8Array(32), new Uint8Array(32))) } }),
    v('header-version-4', 'parse-failure', 'ATTEST_PARSE', edit((_, dv) => dv.setUint16(0, 4, true)), 'version 4'),
    v('header-key-type-3', 'parse-failure', 'ATTEST_PARSE', edit((_, dv) => dv.setUint16(2, 3, true)), 'attestation key type 3'),
    v('header-vendor-id', 'parse-failure', 'ATTEST_PARSE', edit((b) => { b[12]! ^= 0x01; }), 'QE vendor id is not Intel\'s'),
    v('trailing-byte', 'parse-failure', 'ATTEST_PARSE', Uint8Array.from([...good, 0]), 'one byte after the signature data'),
    v('cert-type-4', 'parse-failure', 'ATTEST_PARSE', edit((_, dv) => dv.setUint16(certOff, 4, true)), 'certification data type 4'),
    v('root-not-pinned', 'chain-failure', 'ATTEST_ROOT_NOT_PINNED', createInsecureSimQuote(report, chainWith('Another Root', at)), 'a valid quote from another chain'),
    v('root-same-name-other-key', 'chain-failure', 'ATTEST_ROOT_NOT_PINNED', createInsecureSimQuote(report, chainWith('Enclave-NN Test Root CA', at)), 'its root has the pinned root\'s name but another key'),
    v('leaf-wrong-issuer-key', 'chain-failure', 'ATTEST_CHAIN', createInsecureSimQuote(report, badIssuer), 'the PCK leaf is not signed by its issuer\'s key (this vector pins its own chain\'s root)', { rootSha256: badIssuer.root.sha256 }),
    v('pem-noncanonical', 'chain-failure', 'ATTEST_CHAIN', edit((b) => { b[pemStart + 28]! = 0x2a; }), 'a byte of the PEM text replaced by "*" (not base64)'),
    v('cert-expired', 'chain-failure', 'ATTEST_CERT_EXPIRED', good, 'verified two years after the chain was made', { at: new Date('2028-01-01T00:00:00Z') }),
    v('qe-report-flipped', 'signature-failure', 'ATTEST_QE_SIGNATURE', edit((b) => { b[564 + 64]! ^= 0x01; }), 'one bit of the QE report\'s MRENCLAVE flipped'),
    v('qe-auth-data-flipped', 'signature-failure', 'ATTEST_QE_BINDING', edit((b) => { b[authOff]! ^= 0x01; }), 'one bit of the QE auth data flipped'),
    v('attestation-key-flipped', 'signature-failure', 'ATTEST_QE_BINDING', edit((b) => { b[530]! ^= 0x01; }), 'one bit of the attestation key flipped'),
    v('body-flipped', 'signature-failure', 'ATTEST_QUOTE_SIGNATURE', edit((b) => { b[112]! ^= 0x80; }), 'one bit of MRENCLAVE flipped'),
    v('quote-signature-flipped', 'signature-failure', 'ATTEST_QUOTE_SIGNATURE', edit((b) => { b[470]! ^= 0x01; }), 'one bit of the quote signature flipped'),
  ];
}

if (process.argv.includes('--write') && import.meta.url === `file://${process.argv[1]}`) {
  mkdirSync(VECTOR_DIR, { recursive: true });
  for (const v of buildVectors()) writeFileSync(`${VECTOR_DIR}/${v.name}`, serialize(v));
  console.log(`wrote ${VECTOR_DIR}`);
}
