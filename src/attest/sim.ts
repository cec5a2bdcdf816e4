/**
 * INSECURE simulated SGX evidence for the `sim` platform (docs/attestation.md §7).
 *
 * A per-installation chain (root → intermediate → PCK leaf, ECDSA P-256, X.509 made in-process)
 * and a simulated quoting enclave that emits real DCAP quote v3 bytes. The private keys live in
 * a 0600 file of the current user: anyone who can read it (or run code as this user) can forge
 * quotes for any MRENCLAVE. The sim quote therefore protects NOTHING; it exists so that the
 * whole key-provisioning path runs, byte for byte, on machines without SGX. Every sim quote has
 * the DEBUG attribute set, so a production policy (allowDebug: false) refuses it even if the sim
 * root were pinned by mistake.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnclaveNnError } from '../errors.ts';
import { attestSha256 } from '../crypto/attest-hash.ts';
import {
  exportP256PrivateKeyPem, generateP256KeyPair, importP256PrivateKeyPem, signP256Sha256, type P256KeyPair, type P256PrivateKey,
} from '../crypto/ecdsa.ts';
import { certificateToPem, parseCertificate, parsePemCertificates } from '../crypto/x509.ts';
import { createCertificate } from '../crypto/x509-build.ts';
import { QUOTE, encodeQuote, encodeReportBody } from './quote.ts';
import type { PinnedRoot } from './types.ts';
import { createFileOnce } from '../util/create-once.ts';
import { enclaveNnHome } from '../util/home.ts';

/** An INSECURE simulated PCK chain with its PCK leaf key. */
export interface InsecureSimChain {
  /** Where it is persisted, or undefined for an in-memory chain. */
  readonly dir: string | undefined;
  /** PEM `leaf ‖ intermediate ‖ root`: the quote's certification data (type 5). */
  readonly chainPem: string;
  /** The root to pin when (and only when) the operator chose to trust the sim. */
  readonly root: PinnedRoot;
  /** @internal The sim PCK leaf key (signs QE reports). */
  readonly pckKey: P256PrivateKey;
}

/** What the simulated enclave reports. */
export interface InsecureSimReport {
  /** 32 bytes. */
  readonly mrEnclave: Uint8Array;
  /** 32 bytes. */
  readonly mrSigner: Uint8Array;
  /** @defaultValue 0 */
  readonly isvProdId?: number;
  /** @defaultValue 0 */
  readonly isvSvn?: number;
  /** 64 bytes, e.g. {@link reportDataFor}(enclave key, server nonce). */
  readonly reportData: Uint8Array;
  /** 16 bytes; the DEBUG flag is always forced on. @defaultValue flags INIT|DEBUG|MODE64BIT, XFRM x87|SSE */
  readonly attributes?: Uint8Array;
}

/**
 * The directory of the INSECURE simulated chain: `<home>/insecure-sim/`, where home is
 * `$ENCLAVE_NN_HOME` or `~/.enclave-nn` (the sim platform keeps its secret there too).
 *
 * @param home @defaultValue {@link enclaveNnHome}()
 */
export function defaultInsecureSimDir(home: string = enclaveNnHome()): string {
  return join(home, 'insecure-sim');
}

const CHAIN_FILE = 'chain.json';
let announced = false;

/** Prints the one-line INSECURE warning on stderr, once per process (STYLE.md 11). */
export function announceInsecureSim(): void {
  if (announced) return;
  announced = true;
  process.stderr.write('enclave-nn: INSECURE: simulated SGX attestation (sim platform): quotes are signed by a key in a local file; they protect nothing\n');
}

function rootOf(chainPem: string, dir: string | undefined): PinnedRoot {
  const ders = parsePemCertificates(chainPem);
  const root = parseCertificate(ders[ders.length - 1]!);
  return { name: `INSECURE sim root${dir ? ` (${dir})` : ''}`, sha256: root.sha256 };
}

/**
 * Creates a fresh INSECURE sim chain in memory (no file). Validity: one day back (clock skew)
 * to ten years ahead.
 */
export function createInsecureSimChain(now: Date = new Date()): InsecureSimChain {
  announceInsecureSim();
  const notBefore = new Date(now.getTime() - 86_400_000);
  const notAfter = new Date(now.getTime() + 10 * 365 * 86_400_000);
  const rootKey = generateP256KeyPair();
  const interKey = generateP256KeyPair();
  const pckKey = generateP256KeyPair();
  const rootDer = createCertificate({ subjectCN: 'Enclave-NN INSECURE Simulated SGX Root CA', publicKey: rootKey.publicKey, notBefore, notAfter, isCA: true }, undefined, rootKey.privateKey);
  const root = parseCertificate(rootDer);
  const interDer = createCertificate({ subjectCN: 'Enclave-NN INSECURE Simulated SGX PCK Processor CA', publicKey: interKey.publicKey, notBefore, notAfter, isCA: true },
    { subjectDer: root.subjectDer, privateKey: rootKey.privateKey });
  const inter = parseCertificate(interDer);
  const leafDer = createCertificate({ subjectCN: 'Enclave-NN INSECURE Simulated SGX PCK Certificate', publicKey: pckKey.publicKey, notBefore, notAfter, isCA: false },
    { subjectDer: inter.subjectDer, privateKey: interKey.privateKey });
  const chainPem = certificateToPem(leafDer) + certificateToPem(interDer) + certificateToPem(rootDer);
  return { dir: undefined, chainPem, root: rootOf(chainPem, undefined), pckKey: pckKey.privateKey };
}

interface ChainFile {
  readonly format: 'enclave-nn-insecure-sim-chain/1';
  readonly warning: string;
  readonly chainPem: string;
  readonly pckKeyPem: string;
}

function readChainFile(dir: string): InsecureSimChain {
  const path = join(dir, CHAIN_FILE);
  let f: ChainFile;
  try {
    f = JSON.parse(readFileSync(path, 'utf8')) as ChainFile;
    if (f.format !== 'enclave-nn-insecure-sim-chain/1') throw new Error(`unknown format ${String(f.format)}`);
    return { dir, chainPem: f.chainPem, root: rootOf(f.chainPem, dir), pckKey: importP256PrivateKeyPem(f.pckKeyPem) };
  } catch (e) {
    throw new EnclaveNnError('ATTEST_SIM_CHAIN', `Cannot load the insecure sim chain ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Loads an existing INSECURE sim chain from `dir`; throws `ATTEST_SIM_CHAIN` when absent.
 * Verifiers use this (they must not create a root they then trust).
 */
export function loadInsecureSimChain(dir: string = defaultInsecureSimDir()): InsecureSimChain {
  announceInsecureSim();
  if (!existsSync(join(dir, CHAIN_FILE))) {
    throw new EnclaveNnError('ATTEST_SIM_CHAIN', `Cannot load the insecure sim chain: ${join(dir, CHAIN_FILE)} does not exist`);
  }
  return readChainFile(dir);
}

/**
 * Loads the INSECURE sim chain from `dir`, creating it on first use. The file is written to a
 * temporary name (mode 0600) and hard-linked into place, so concurrent first uses agree on one
 * chain: the loser of the race reads the winner's.
 *
 * @example
 * ```ts
 * const chain = loadOrCreateInsecureSimChain(); // $ENCLAVE_NN_HOME/insecure-sim/chain.json
 * const quote = createInsecureSimQuote({ mrEnclave, mrSigner, reportData }, chain);
 * verifyQuote(quote, { roots: [chain.root], at: new Date(), policy: { allowDebug: true } });
 * ```
 */
export function loadOrCreateInsecureSimChain(dir: string = defaultInsecureSimDir()): InsecureSimChain {
  announceInsecureSim();
  const path = join(dir, CHAIN_FILE);
  if (existsSync(path)) return readChainFile(dir);
  const fresh = createInsecureSimChain();
  const file: ChainFile = {
    format: 'enclave-nn-insecure-sim-chain/1',
    warning: 'INSECURE: simulated SGX PCK chain. Anyone who reads this file can forge quotes. It protects nothing.',
    chainPem: fresh.chainPem,
    pckKeyPem: exportP256PrivateKeyPem(fresh.pckKey),
  };
  createFileOnce(path, JSON.stringify(file, null, 2) + '\n');
  return readChainFile(dir);
}

/** The lower-case hex SHA-256 fingerprint of the sim chain's root (what `--insecure-trust-sim` pins). */
export function simRootFingerprint(chain: InsecureSimChain): string {
  return chain.root.sha256;
}

// The simulated QE's identity. Arbitrary constants: nothing checks them but the QE Identity
// collateral, which does not exist for the sim.
const SIM_QE_MRENCLAVE = attestSha256(new TextEncoder().encode('enclave-nn INSECURE simulated QE enclave'));
const SIM_QE_MRSIGNER = attestSha256(new TextEncoder().encode('enclave-nn INSECURE simulated QE signer'));
/** QE auth data: 32 bytes 0..31, as Intel's QE emits. */
const SIM_QE_AUTH_DATA = Uint8Array.from({ length: 32 }, (_, i) => i);
const attestationKeys = new WeakMap<InsecureSimChain, P256KeyPair>();

/** SGX_FLAGS_INITTED | SGX_FLAGS_DEBUG | SGX_FLAGS_MODE64BIT, XFRM = x87 | SSE. */
const DEFAULT_ATTRIBUTES = Uint8Array.of(0x07, 0, 0, 0, 0, 0, 0, 0, 0x03, 0, 0, 0, 0, 0, 0, 0);

/**
 * Produces an INSECURE simulated DCAP quote v3: the report body is signed by an attestation key
 * (fresh per chain object and process, like a QE restart), the QE report binds that key
 * (REPORTDATA[0..32] = SHA-256(key ‖ auth data)) and is signed by the sim PCK key, and the
 * certification data is the sim chain. The DEBUG attribute is always set.
 */
export function createInsecureSimQuote(report: InsecureSimReport, chain: InsecureSimChain): Uint8Array {
  announceInsecureSim();
  if (report.reportData.length !== 64) throw new RangeError(`createInsecureSimQuote: reportData must be 64 bytes, got ${report.reportData.length}`);
  let ak = attestationKeys.get(chain);
  if (!ak) {
    ak = generateP256KeyPair();
    attestationKeys.set(chain, ak);
  }
  const attributes = new Uint8Array(report.attributes ?? DEFAULT_ATTRIBUTES);
  if (attributes.length !== 16) throw new RangeError('createInsecureSimQuote: attributes must be 16 bytes');
  attributes[0]! |= 0x02; // DEBUG, always: the sim protects nothing and must look like it.
  const body = encodeReportBody({
    mrEnclave: report.mrEnclave, mrSigner: report.mrSigner, isvProdId: report.isvProdId ?? 0, isvSvn: report.isvSvn ?? 0,
    reportData: report.reportData, attributes,
  });
  const qeReportData = new Uint8Array(64);
  qeReportData.set(attestSha256(ak.publicKey, SIM_QE_AUTH_DATA), 0);
  const qeReport = encodeReportBody({
    mrEnclave: SIM_QE_MRENCLAVE, mrSigner: SIM_QE_MRSIGNER, isvProdId: 1, isvSvn: 0, attributes: DEFAULT_ATTRIBUTES, reportData: qeReportData,
  });
  const header = { qeSvn: 0, pceSvn: 0, qeVendorId: Buffer.from(QUOTE.INTEL_QE_VENDOR_ID, 'hex'), userData: new Uint8Array(20) };
  const unsigned = encodeQuote({
    header, body, signature: new Uint8Array(64), attestationKey: ak.publicKey, qeReport,
    qeReportSignature: signP256Sha256(qeReport, chain.pckKey), qeAuthData: SIM_QE_AUTH_DATA,
    certificationData: new TextEncoder().encode(chain.chainPem),
  });
  // The quote signature covers header ‖ body (the first 432 bytes).
  unsigned.set(signP256Sha256(unsigned.subarray(0, QUOTE.SIGNED_SIZE), ak.privateKey), QUOTE.SIG_DATA_OFFSET);
  return unsigned;
}
