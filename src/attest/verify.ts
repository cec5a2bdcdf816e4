/**
 * The one quote verifier (docs/attestation.md §3). Every check that fails throws
 * EnclaveNnError with a stable code; the order of checks is the order of the spec.
 */
import { EnclaveNnError } from '../errors.ts';
import { concatBytes, sha256 } from '../crypto/hash.ts';
import { verifyP256Sha256 } from '../crypto/ecdsa.ts';
import { equalBytes } from '../crypto/x509.ts';
import { verifyChain } from './chain.ts';
import { verifyCollateral } from './collateral.ts';
import { parseQuote } from './quote.ts';
import type { QuotePolicy, ReportBody, TcbStatus, VerifiedQuote, VerifyOptions } from './types.ts';
import { toHex } from '../util/encoding.ts';


/**
 * Verifies a DCAP ECDSA quote v3 and applies `policy`. Steps (docs/attestation.md §3):
 * parse (`ATTEST_PARSE`) → PCK chain to a pinned root, valid at `at` (`ATTEST_CHAIN`,
 * `ATTEST_ROOT_NOT_PINNED`, `ATTEST_CERT_EXPIRED`) → QE report signature by the PCK key
 * (`ATTEST_QE_SIGNATURE`) → SHA-256(attestation key ‖ QE auth data) = QE REPORTDATA[0..32]
 * (`ATTEST_QE_BINDING`) → quote signature over header ‖ body (`ATTEST_QUOTE_SIGNATURE`) →
 * collateral when given (`ATTEST_COLLATERAL_*`, `ATTEST_TCB`) → policy (`ATTEST_POLICY_DEBUG`,
 * `ATTEST_POLICY_MRENCLAVE`, `ATTEST_POLICY_MRSIGNER`, `ATTEST_POLICY_ISVPRODID`,
 * `ATTEST_POLICY_ISVSVN`, `ATTEST_REPORTDATA`).
 *
 * @example
 * ```ts
 * const v = verifyQuote(quote, { roots: [INTEL_SGX_ROOT_CA], at: new Date(), policy: { mrEnclave: [expected] } });
 * v.mrEnclave // hex
 * ```
 */
export function verifyQuote(quoteBytes: Uint8Array, opts: VerifyOptions): VerifiedQuote {
  if (!(opts.at instanceof Date) || Number.isNaN(opts.at.getTime())) throw new TypeError('verifyQuote: opts.at must be a valid Date');
  const quote = parseQuote(quoteBytes);
  const chain = verifyChain(quote.certificationData, opts.roots, opts.at, 'PCK chain');
  // The PCK key vouches (via Intel's chain) for the QE report: this is what makes the QE genuine.
  if (!verifyP256Sha256(quote.qeReport.raw, quote.qeReportSignature, chain.leaf.publicKey)) {
    throw new EnclaveNnError('ATTEST_QE_SIGNATURE', 'Cannot verify quote: QE report signature does not verify with the PCK key');
  }
  // The QE binds the attestation key to its report; without this any key could sign quotes.
  const binding = sha256(concatBytes(quote.attestationKey, quote.qeAuthData));
  if (!equalBytes(binding, quote.qeReport.reportData.subarray(0, 32))) {
    throw new EnclaveNnError('ATTEST_QE_BINDING', 'Cannot verify quote: QE report data does not bind the attestation key');
  }
  if (!verifyP256Sha256(quote.signedRegion, quote.signature, quote.attestationKey)) {
    throw new EnclaveNnError('ATTEST_QUOTE_SIGNATURE', 'Cannot verify quote: quote signature does not verify with the attestation key');
  }
  let tcb;
  const collateral = typeof opts.collateral === 'function' ? opts.collateral(chain) : opts.collateral;
  if (collateral) {
    tcb = verifyCollateral(quote, chain, collateral, opts.roots, opts.at);
    const accepted: readonly TcbStatus[] = opts.tcbPolicy?.acceptedStatuses ?? ['UpToDate'];
    if (!accepted.includes(tcb.status)) {
      throw new EnclaveNnError('ATTEST_TCB', `Cannot accept quote: TCB status ${tcb.status} (advisories ${tcb.advisoryIds.join(', ') || 'none'}) is not accepted (accepted: ${accepted.join(', ')})`);
    }
  }
  checkPolicy(quote.body, opts.policy);
  return {
    quote,
    mrEnclave: toHex(quote.body.mrEnclave),
    mrSigner: toHex(quote.body.mrSigner),
    isvProdId: quote.body.isvProdId,
    isvSvn: quote.body.isvSvn,
    debug: quote.body.debug,
    reportData: quote.body.reportData,
    root: chain.pinned,
    pck: { subjectCN: chain.leaf.subjectCN, issuerCN: chain.leaf.issuerCN, notAfter: chain.leaf.notAfter },
    ...(tcb ? { tcb } : {}),
  };
}

function normHex(list: readonly string[], what: string): string[] {
  return list.map((h) => {
    const v = h.toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(v)) throw new EnclaveNnError('ATTEST_POLICY_INVALID', `Cannot apply policy: ${what} entry '${h}' is not 32 bytes of hex`);
    return v;
  });
}

/**
 * Applies a {@link QuotePolicy} to a verified report body (docs/attestation.md §3 step 7).
 * Exported for callers that verified the signature chain separately.
 */
export function checkPolicy(body: ReportBody, policy: QuotePolicy): void {
  // A debug enclave's memory is readable by the host: it protects nothing.
  if (body.debug && policy.allowDebug !== true) {
    throw new EnclaveNnError('ATTEST_POLICY_DEBUG', 'Cannot accept quote: the enclave has the DEBUG attribute and the policy does not allow debug enclaves');
  }
  const mrEnclave = toHex(body.mrEnclave);
  if (policy.mrEnclave && !normHex(policy.mrEnclave, 'mrEnclave').includes(mrEnclave)) {
    throw new EnclaveNnError('ATTEST_POLICY_MRENCLAVE', `Cannot accept quote: MRENCLAVE ${mrEnclave} is not in the policy`);
  }
  const mrSigner = toHex(body.mrSigner);
  if (policy.mrSigner && !normHex(policy.mrSigner, 'mrSigner').includes(mrSigner)) {
    throw new EnclaveNnError('ATTEST_POLICY_MRSIGNER', `Cannot accept quote: MRSIGNER ${mrSigner} is not in the policy`);
  }
  if (policy.isvProdId !== undefined && body.isvProdId !== policy.isvProdId) {
    throw new EnclaveNnError('ATTEST_POLICY_ISVPRODID', `Cannot accept quote: ISVPRODID ${body.isvProdId} is not ${policy.isvProdId}`);
  }
  if (policy.minIsvSvn !== undefined && body.isvSvn < policy.minIsvSvn) {
    throw new EnclaveNnError('ATTEST_POLICY_ISVSVN', `Cannot accept quote: ISVSVN ${body.isvSvn} is below the minimum ${policy.minIsvSvn}`);
  }
  if (policy.reportData !== undefined) {
    if (policy.reportData.length !== 64) throw new EnclaveNnError('ATTEST_POLICY_INVALID', 'Cannot apply policy: reportData must be 64 bytes');
    if (!equalBytes(body.reportData, policy.reportData)) {
      throw new EnclaveNnError('ATTEST_REPORTDATA', 'Cannot accept quote: REPORTDATA does not match the expected binding (another key or nonce)');
    }
  }
}
