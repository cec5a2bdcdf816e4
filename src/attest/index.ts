/**
 * Remote attestation: Intel SGX DCAP ECDSA quote v3 parsing and verification against roots
 * pinned by fingerprint, DCAP collateral (TCB Info, QE Identity, CRLs), and the INSECURE
 * simulated PCK chain and quoting enclave of the `sim` platform. Spec: docs/attestation.md.
 *
 * @example
 * ```ts
 * import { verifyQuote, INTEL_SGX_ROOT_CA } from './attest/index.ts';
 * const v = verifyQuote(quote, { roots: [INTEL_SGX_ROOT_CA], at: new Date(), policy: { mrEnclave: [m] } });
 * ```
 */
export type {
  Collateral, PinnedRoot, Quote, QuoteHeader, QuoteParts, QuotePolicy, ReportBody, TcbPolicy, TcbStatus, TcbVerdict,
  VerifiedQuote, VerifyOptions,
} from './types.ts';
export { QUOTE, encodeQuote, encodeReportBody, parseQuote, parseReportBody, type ReportBodyFields } from './quote.ts';
export { verifyQuote, checkPolicy } from './verify.ts';
export { parsePolicyFile } from './policy-file.ts';
export { verifyChain, type VerifiedChain } from './chain.ts';
export { INTEL_SGX_ROOT_CA, pinnedRoot } from './roots.ts';
export { reportDataFor } from './report-data.ts';
export {
  announceInsecureSim, createInsecureSimChain, createInsecureSimQuote, defaultInsecureSimDir, loadInsecureSimChain,
  loadOrCreateInsecureSimChain, simRootFingerprint, type InsecureSimChain, type InsecureSimReport,
} from './sim.ts';
export { parseCollateralJson, verifyCollateral } from './collateral.ts';
export { parsePckExtensions, OID_SGX_EXTENSIONS, type PckExtensions } from './pck-extensions.ts';
export type { DcapQvlCollateralJson, QeIdentityJson, TcbInfoJson } from './collateral-format.ts';
