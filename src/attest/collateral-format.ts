/**
 * On-disk shapes of DCAP collateral, as Intel's PCS/PCCS and dcap-qvl write them (STYLE.md 6:
 * the names are theirs). Converted to {@link Collateral} by `parseCollateralJson`.
 * Reference: Intel "SGX and TDX PCS API" (TCB Info v3, Enclave Identity v2).
 */

/** dcap-qvl's `QuoteCollateralV3` JSON (snake_case; CRLs and signatures in hex). */
export interface DcapQvlCollateralJson {
  pck_crl_issuer_chain: string;
  root_ca_crl: string;
  pck_crl: string;
  tcb_info_issuer_chain: string;
  /** The signed `tcbInfo` JSON text (or a PCS body `{"tcbInfo":…,"signature":…}`). */
  tcb_info: string;
  tcb_info_signature?: string;
  qe_identity_issuer_chain: string;
  /** The signed `enclaveIdentity` JSON text (or a PCS body `{"enclaveIdentity":…,"signature":…}`). */
  qe_identity: string;
  qe_identity_signature?: string;
}

/** One SGX TCB level of TCB Info v3. */
export interface TcbLevelJson {
  tcb: { sgxtcbcomponents: Array<{ svn: number }>; pcesvn: number };
  tcbDate: string;
  tcbStatus: string;
  advisoryIDs?: string[];
}

/** TCB Info v3 (`id` "SGX"). */
export interface TcbInfoJson {
  id: string;
  version: number;
  issueDate: string;
  nextUpdate: string;
  fmspc: string;
  pceId: string;
  tcbType: number;
  tcbEvaluationDataNumber: number;
  tcbLevels: TcbLevelJson[];
}

/** One QE TCB level of Enclave Identity v2. */
export interface QeTcbLevelJson {
  tcb: { isvsvn: number };
  tcbDate: string;
  tcbStatus: string;
  advisoryIDs?: string[];
}

/** Enclave Identity v2 (`id` "QE"). */
export interface QeIdentityJson {
  id: string;
  version: number;
  issueDate: string;
  nextUpdate: string;
  tcbEvaluationDataNumber: number;
  miscselect: string;
  miscselectMask: string;
  attributes: string;
  attributesMask: string;
  mrsigner: string;
  isvprodid: number;
  tcbLevels: QeTcbLevelJson[];
}
