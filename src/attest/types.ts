/**
 * The public types of remote attestation: read these to know the whole API of src/attest/.
 * Byte layouts follow Intel's `sgx_quote_3.h` and `sgx_report.h` (docs/attestation.md §2).
 */
import type { VerifiedChain } from './chain.ts';

/** `sgx_quote_header_t` (48 bytes, docs/attestation.md §2.1). */
export interface QuoteHeader {
  /** 3 for this format. */
  readonly version: number;
  /** 2 = ECDSA-256-with-P-256 curve. */
  readonly attestationKeyType: number;
  /** Bytes 4..8 as u32: 0 = SGX (TEE type; `reserved` in older headers). */
  readonly teeType: number;
  readonly qeSvn: number;
  readonly pceSvn: number;
  /** 16 bytes; Intel's QE: 939a7233f79c4ca9940a0db3957f0607. */
  readonly qeVendorId: Uint8Array;
  /** 20 bytes of user data (Intel's QE: first 16 bytes = platform identifier). */
  readonly userData: Uint8Array;
}

/** `sgx_report_body_t` (384 bytes, docs/attestation.md §2.2): an ISV enclave's or the QE's report. */
export interface ReportBody {
  /** The exact 384 bytes (what the QE report signature covers). */
  readonly raw: Uint8Array;
  readonly cpuSvn: Uint8Array;
  readonly miscSelect: number;
  /** 16 bytes: flags (u64 LE, bit 1 = DEBUG) then XFRM (u64 LE). */
  readonly attributes: Uint8Array;
  readonly mrEnclave: Uint8Array;
  readonly mrSigner: Uint8Array;
  readonly isvProdId: number;
  readonly isvSvn: number;
  /** 64 bytes chosen by the enclave; binds its key (and the server's nonce) to the quote. */
  readonly reportData: Uint8Array;
  /** attributes.flags bit 1: the enclave can be debugged, so it protects nothing. */
  readonly debug: boolean;
}

/** A parsed DCAP ECDSA quote v3 (docs/attestation.md §2). */
export interface Quote {
  readonly header: QuoteHeader;
  readonly body: ReportBody;
  /** Header ‖ body: the 432 bytes the quote signature covers. */
  readonly signedRegion: Uint8Array;
  /** ECDSA P-256 signature r ‖ s over `signedRegion` by the attestation key (64 bytes). */
  readonly signature: Uint8Array;
  /** The attestation key X ‖ Y (64 bytes). */
  readonly attestationKey: Uint8Array;
  /** The QE's report; its REPORTDATA[0..32] = SHA-256(attestationKey ‖ qeAuthData). */
  readonly qeReport: ReportBody;
  /** ECDSA P-256 signature r ‖ s over `qeReport.raw` by the PCK leaf key. */
  readonly qeReportSignature: Uint8Array;
  readonly qeAuthData: Uint8Array;
  /** 5 = PEM PCK chain (the only type accepted). */
  readonly certificationDataType: number;
  readonly certificationData: Uint8Array;
}

/** The fields {@link encodeQuote} needs; the inverse of parsing. */
export interface QuoteParts {
  readonly header: Omit<QuoteHeader, 'version' | 'attestationKeyType' | 'teeType'>;
  /** 384 bytes of the ISV report body. */
  readonly body: Uint8Array;
  readonly signature: Uint8Array;
  readonly attestationKey: Uint8Array;
  /** 384 bytes of the QE report body. */
  readonly qeReport: Uint8Array;
  readonly qeReportSignature: Uint8Array;
  readonly qeAuthData: Uint8Array;
  readonly certificationData: Uint8Array;
}

/** A trust anchor, pinned by the SHA-256 of its DER (never by its name). */
export interface PinnedRoot {
  /** A label for messages. */
  readonly name: string;
  /** Lower-case hex SHA-256 of the root certificate's DER (64 hex digits). */
  readonly sha256: string;
}

/**
 * What the verifier requires of the enclave, beyond a valid signature chain.
 * An absent list accepts any value for that field.
 */
export interface QuotePolicy {
  /** Accepted MRENCLAVE values (hex). */
  readonly mrEnclave?: readonly string[];
  /** Accepted MRSIGNER values (hex). */
  readonly mrSigner?: readonly string[];
  /** Required ISVPRODID. */
  readonly isvProdId?: number;
  /** Minimum ISVSVN. @defaultValue 0 */
  readonly minIsvSvn?: number;
  /** Accept enclaves with the DEBUG attribute (their memory is readable). @defaultValue false */
  readonly allowDebug?: boolean;
  /** Exact expected REPORTDATA (64 bytes), e.g. {@link reportDataFor}(key, nonce). */
  readonly reportData?: Uint8Array;
}

/** DCAP collateral for one quote (the dcap-qvl / PCCS set), docs/attestation.md §5. */
export interface Collateral {
  /** PEM: PCK CA (the quote's intermediate) ‖ root. */
  readonly pckCrlIssuerChain: string;
  /** DER CRL of the root CA. */
  readonly rootCaCrl: Uint8Array;
  /** DER CRL of the PCK CA. */
  readonly pckCrl: Uint8Array;
  /** PEM: TCB Signing ‖ root. */
  readonly tcbInfoIssuerChain: string;
  /** The exact JSON text of the `tcbInfo` value (the signed bytes). */
  readonly tcbInfo: string;
  /** Raw r ‖ s (64 bytes) over the UTF-8 bytes of `tcbInfo`. */
  readonly tcbInfoSignature: Uint8Array;
  /** PEM: TCB Signing ‖ root. */
  readonly qeIdentityIssuerChain: string;
  /** The exact JSON text of the `enclaveIdentity` value. */
  readonly qeIdentity: string;
  /** Raw r ‖ s over the UTF-8 bytes of `qeIdentity`. */
  readonly qeIdentitySignature: Uint8Array;
}

/** Platform TCB statuses Intel publishes in TCB Info. */
export type TcbStatus =
  | 'UpToDate' | 'SWHardeningNeeded' | 'ConfigurationNeeded' | 'ConfigurationAndSWHardeningNeeded'
  | 'OutOfDate' | 'OutOfDateConfigurationNeeded' | 'Revoked';

/** Which TCB statuses are acceptable (checked only when collateral is given). */
export interface TcbPolicy {
  /** @defaultValue ['UpToDate'] */
  readonly acceptedStatuses?: readonly TcbStatus[];
}

/** The outcome of collateral verification. */
export interface TcbVerdict {
  /** Converged platform + QE status (Intel QVL rules). */
  readonly status: TcbStatus;
  /** Advisories of the selected platform level, then the QE level's (deduplicated). */
  readonly advisoryIds: readonly string[];
  readonly platformStatus: TcbStatus;
  readonly qeStatus: TcbStatus;
  /** FMSPC (hex, upper case as Intel writes it). */
  readonly fmspc: string;
  readonly tcbDate: string;
  readonly tcbEvaluationDataNumber: number;
}

/** What {@link verifyQuote} returns when every check passed. */
export interface VerifiedQuote {
  readonly quote: Quote;
  readonly mrEnclave: string;
  readonly mrSigner: string;
  readonly isvProdId: number;
  readonly isvSvn: number;
  readonly debug: boolean;
  readonly reportData: Uint8Array;
  /** The pinned root the chain ended in. */
  readonly root: PinnedRoot;
  /** PCK leaf subject CN and validity (for display). */
  readonly pck: { readonly subjectCN: string; readonly issuerCN: string; readonly notAfter: Date };
  /** Present when collateral was given. */
  readonly tcb?: TcbVerdict;
}

/** Options of {@link verifyQuote}. */
export interface VerifyOptions {
  /** Accepted roots, by fingerprint. Production: `[INTEL_SGX_ROOT_CA]`. */
  readonly roots: readonly PinnedRoot[];
  /** The verification time (certificate validity, collateral dates). */
  readonly at: Date;
  readonly policy: QuotePolicy;
  /**
   * DCAP collateral; when given, TCB status is evaluated and `tcbPolicy` applied. A function is
   * called once the PCK chain verified (so it can pick the collateral for this platform, e.g. by
   * FMSPC); it may return undefined for no TCB evaluation.
   */
  readonly collateral?: Collateral | ((pck: VerifiedChain) => Collateral | undefined);
  /** @defaultValue `{ acceptedStatuses: ['UpToDate'] }` */
  readonly tcbPolicy?: TcbPolicy;
}
