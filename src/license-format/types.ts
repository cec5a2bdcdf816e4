/**
 * The public types of licensing (docs/license-protocol.md). Read this file for the API; the
 * implementation lives beside it. Times are Unix seconds; credits count samples (one input row
 * of a batch), not calls.
 */

/** Offline grace: how far an enclave may run between two check-ins with the server (§3). */
export interface OfflineGrace {
  /** The most inferences (samples) an enclave may hold unreported: the top-up level. */
  maxInferences: number;
  /** The longest time, in seconds, since the last check-in. */
  maxSeconds: number;
}

/** The terms of a license, as signed by the provider (§3). */
export interface LicenseTerms {
  licenseId: string;
  modelId: string;
  customerId: string;
  /** Unix seconds; the license is valid from here… */
  notBefore: number;
  /** …to here (inclusive). */
  notAfter: number;
  /** Inference credits bought when the license was issued (samples). */
  credits: number;
  offline: OfflineGrace;
}

/** A verified license: its terms and its token (what enclaves store and show). */
export interface License extends LicenseTerms {
  /** The signed token, `base64url(body).base64url(signature)`. */
  token: string;
}

/**
 * A credit grant (§5): the server's signed statement that the enclave `enclaveId` may run up to
 * `allowance` samples in total since it was provisioned, answering its report `seq`.
 */
export interface Grant {
  licenseId: string;
  /** Lowercase hex of the enclave's report-signing public key (its identity). */
  enclaveId: string;
  /** The usage report this grant answers (0 = provisioning). */
  seq: number;
  /**
   * Lowercase hex, 32 bytes: the `nonce` of the report it answers (seq 0: the provisioning
   * challenge nonce). The enclave accepts a grant only for its latest outstanding report's
   * nonce, once (§5.4).
   */
  nonce: string;
  /** Cumulative samples this enclave may have used (absolute, so a lost grant is re-sent). */
  allowance: number;
  /** Server time of the check-in (Unix seconds): the offline clock restarts here. */
  issuedAt: number;
  /** The signed token. */
  token: string;
}

/** An enclave's usage report (§5), signed with its attested report key. */
export interface UsageReport {
  licenseId: string;
  enclaveId: string;
  /** Strictly increasing per enclave, starting at 1. */
  seq: number;
  /** Lowercase hex, 32 random bytes the enclave drew for this report; its grant echoes it (§5.2). */
  nonce: string;
  /** Cumulative samples run since provisioning. */
  used: number;
  /** The cumulative allowance the enclave holds (its last grant's). */
  allowance: number;
  /** Enclave (host) clock, Unix seconds: informational only. */
  at: number;
  /** The extraction monitor's verdict (§5.2.1); present in version-2 reports, absent in version 1. */
  monitor?: MonitorVerdict;
  /** The signed token. */
  token: string;
}

/**
 * The extraction monitor's verdict in a usage report (§5.2.1): a few integers, never an input
 * or a distance. Computed inside the enclave (src/enclave/trusted/monitor.ts), signed with the
 * report.
 */
export interface MonitorVerdict {
  /** 1 once the Shapiro–Wilk W of the minimum distances fell below δ (latched), else 0. */
  alarm: 0 | 1;
  /** Queries the monitor had seen when the alarm first fired; 0 = never. */
  alarmAt: number;
  /** Queries (samples) the monitor has seen since provisioning. */
  queries: number;
  /** Distances in the latest test; 0 = no test yet. */
  n: number;
  /** W of the latest test, in millionths (1000000 before the first test). */
  w: number;
  /** The lowest W of any test so far, in millionths. */
  minW: number;
}
