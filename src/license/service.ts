/**
 * The license server's decisions, independent of HTTP (docs/license-protocol.md §4–§8):
 * challenge, provision, usage/top-up, air-gapped fulfilment and the provider's admin
 * operations. Every decision — accepted or refused — is written to the audit log with its
 * reason before the caller sees it.
 */
import { hkdfSha256, LABEL_REPORT_SEED, randomBytes, wrapToX25519, zeroize } from '../crypto/index.ts';
import { ed25519Signer, type Ed25519Signer } from '../crypto/ed25519-keys.ts';
import { verifyQuote } from '../attest/verify.ts';
import { reportDataFor } from '../attest/report-data.ts';
import { INTEL_SGX_ROOT_CA } from '../attest/roots.ts';
import type { PinnedRoot, TcbStatus } from '../attest/types.ts';
import type { ProviderKey } from '../bundle/types.ts';
import { EnclaveNnError } from '../errors.ts';
import type { CollateralSource } from './collateral-dir.ts';
import { enclaveIdOf, encodeLicensePackage, NONCE_SIZE, provisionTranscript, wrapProvisionPayload } from '../license-format/provision.ts';
import { openModelSecrets, sealModelSecrets } from './secrets.ts';
import { LICENSE_STOPPED, stoppedDetail, type AuditEntry, type LicenseRecord, type LicenseStore, type ModelPolicy } from './store.ts';
import { checkId, checkWindow, openLicense, openSelfNamedUsageReport, peekLicenseId, signGrant, signLicense } from '../license-format/token.ts';
import type { UsageReport } from '../license-format/types.ts';
import { fromBase64Url, toBase64Url, toHex } from '../util/encoding.ts';

/** Options of {@link LicenseService}. */
export interface LicenseServiceOptions {
  store: LicenseStore;
  /** 32-byte key that encrypts model secrets at rest. */
  masterKey: Uint8Array;
  /** Attestation roots accepted for every model but sim models (production: Intel's only). */
  roots: readonly PinnedRoot[];
  /**
   * INSECURE, development: the simulated SGX root (`license-server --insecure-trust-sim`). Sim
   * models (policy `insecureSim`) are served to quotes under this root only, from DEBUG enclaves
   * (the sim platform always sets DEBUG); other models never accept it.
   * @defaultValue undefined: sim models are refused
   */
  insecureSimRoot?: PinnedRoot;
  /** The clock, Unix seconds. @defaultValue the system clock */
  now?: () => number;
  /** How long a challenge nonce lives. @defaultValue 300 */
  nonceTtlSeconds?: number;
  /**
   * DCAP collateral (TCB Info, QE Identity, CRLs) for quotes under {@link collateralRoots}:
   * without it such quotes are refused (`ATTEST_COLLATERAL_MISSING`). @defaultValue none
   */
  collateral?: CollateralSource;
  /**
   * Roots whose quotes must pass TCB and revocation checks (§4.5.1). Quotes under other roots in
   * `roots` — only the INSECURE sim root in practice, which has no Intel collateral — are not
   * TCB-checked, and the audit says so. @defaultValue [INTEL_SGX_ROOT_CA]
   */
  collateralRoots?: readonly PinnedRoot[];
}

/** TCB statuses a model may accept (§4.5.1); `Revoked` is never acceptable. */
export const ACCEPTABLE_TCB_STATUSES: readonly TcbStatus[] = [
  'UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded',
];
/** Unauthenticated refusals of one action write at most one audit row per this many seconds (§8.3). */
export const ANONYMOUS_AUDIT_WINDOW_SECONDS = 60;

/** A provisioning answer (§4.4). */
export interface ProvisionResult {
  licenseId: string;
  modelId: string;
  enclaveId: string;
  /** Samples the enclave may run before it must check in. */
  allowance: number;
  /** The PROVISION `wrapped` bytes (enclave protocol §4.3). */
  wrapped: Uint8Array;
}

/** An air-gapped license request (§4.6), as `enclave-nn license request` writes it. */
export interface LicenseRequest {
  type: 'enclave-nn-license-request';
  version: 1;
  licenseId: string;
  modelId: string;
  /** base64url, 32 bytes chosen by the requesting host. */
  nonce: string;
  /** base64url X25519 key of the enclave. */
  keyPub: string;
  /** base64url quote. */
  evidence: string;
}

/** The answer to a {@link LicenseRequest}. */
export interface LicenseResponse {
  type: 'enclave-nn-license-response';
  version: 1;
  licenseId: string;
  modelId: string;
  nonce: string;
  enclaveId: string;
  allowance: number;
  /** base64url PROVISION `wrapped`. */
  wrapped: string;
}

/** Terms of a new license (admin). */
export interface GrantOptions {
  customerId: string;
  modelId: string;
  credits: number;
  /** @defaultValue 'lic-' + 12 random hex digits */
  licenseId?: string;
  /** @defaultValue now */
  notBefore?: number;
  /** @defaultValue notBefore + 365 days */
  notAfter?: number;
  /** @defaultValue { maxInferences: credits (≥ 1), maxSeconds: 7 days } */
  offline?: { maxInferences?: number; maxSeconds?: number };
}

/** Strict base64url of an exact size, else `BAD_REQUEST`. */
export function bytesField(v: unknown, what: string, size?: [number, number]): Uint8Array {
  if (typeof v !== 'string' || !/^[A-Za-z0-9_-]*$/.test(v)) throw new EnclaveNnError('BAD_REQUEST', `Cannot read request: ${what} is not base64url`);
  const b = fromBase64Url(v);
  if (size && (b.byteLength < size[0] || b.byteLength > size[1])) throw new EnclaveNnError('BAD_REQUEST', `Cannot read request: ${what} is ${b.byteLength} bytes, not ${size[0] === size[1] ? size[0] : `${size[0]}–${size[1]}`}`);
  return b;
}
function idField(v: unknown, what: string): string {
  try { return checkId(v, what); } catch (e) { throw new EnclaveNnError('BAD_REQUEST', `Cannot read request: ${(e as Error).message}`); }
}

/**
 * The license server's logic.
 *
 * @example
 * ```ts
 * const svc = new LicenseService({ store, masterKey, roots: [INTEL_SGX_ROOT_CA] });
 * const { nonce } = await svc.challenge('lic-1');
 * ```
 */
export class LicenseService {
  readonly store: LicenseStore;
  private readonly masterKey: Uint8Array;
  private readonly roots: readonly PinnedRoot[];
  private readonly insecureSimRoot: PinnedRoot | undefined;
  private readonly now: () => number;
  private readonly nonceTtl: number;
  private readonly signers = new Map<string, Ed25519Signer>();
  private readonly collateral: CollateralSource | undefined;
  private readonly collateralRoots: readonly PinnedRoot[];
  /** Per action: the window of the last anonymous audit row and the refusals counted since. */
  private readonly anonymous = new Map<string, { since: number; count: number }>();
  private challenges = 0;

  constructor(o: LicenseServiceOptions) {
    this.store = o.store;
    this.masterKey = o.masterKey;
    this.roots = o.roots;
    this.insecureSimRoot = o.insecureSimRoot;
    this.now = o.now ?? (() => Math.floor(Date.now() / 1000));
    this.nonceTtl = o.nonceTtlSeconds ?? 300;
    this.collateral = o.collateral;
    this.collateralRoots = o.collateralRoots ?? [INTEL_SGX_ROOT_CA];
  }

  /** Runs one decision and audits its outcome (ok, or refused with the error's code and message). */
  async decide<T>(actor: string, action: string, subject: string, fn: () => Promise<{ value: T; reason: string; audited?: boolean }>): Promise<T> {
    const entry = (outcome: AuditEntry['outcome'], code: string, reason: string): AuditEntry => ({ at: this.now(), actor, action, subject, outcome, code, reason });
    let r: { value: T; reason: string; audited?: boolean };
    try {
      r = await fn();
    } catch (e) {
      const code = e instanceof EnclaveNnError ? e.code : 'INTERNAL';
      const reason = e instanceof EnclaveNnError ? e.message : 'internal error';
      await this.store.audit(entry('refused', code, reason)).catch(() => {});
      throw e;
    }
    if (!r.audited) await this.store.audit(entry('ok', 'OK', r.reason));
    return r.value;
  }

  /**
   * Records a refusal of an unauthenticated request (a bad admin token). Such requests cost their
   * sender nothing, so they are aggregated: at most one audit row per action per
   * {@link ANONYMOUS_AUDIT_WINDOW_SECONDS}, which counts the refusals since the previous row;
   * subject and reason are cut to 200 characters (the path is the sender's).
   */
  async refuse(actor: string, action: string, subject: string, e: EnclaveNnError): Promise<void> {
    const now = this.now();
    const w = this.anonymous.get(action);
    if (w && now - w.since < ANONYMOUS_AUDIT_WINDOW_SECONDS) { w.count++; return; }
    this.anonymous.set(action, { since: now, count: 0 });
    const more = w?.count ? ` (+${w.count} more refused since ${new Date(w.since * 1000).toISOString()}, counted, not logged one by one)` : '';
    await this.store.audit({ at: now, actor, action, subject: subject.slice(0, 200), outcome: 'refused', code: e.code, reason: e.message.slice(0, 200) + more }).catch(() => {});
  }

  // ── customer-facing: challenge, provision, usage ──────────────────────────────────────────

  /**
   * Issues a single-use nonce for provisioning under a license (§4.1). The client names the
   * license by id, or presents its token: a token must carry the model's provider signature and
   * be the one on record (a forged or altered token is refused).
   */
  async challenge(body: { licenseId?: unknown; license?: unknown }): Promise<{ nonce: Uint8Array; modelId: string; expiresAt: number }> {
    const token = typeof body.license === 'string' ? body.license : undefined;
    const licenseId = idField(token !== undefined ? peekLicenseId(token) : body.licenseId, 'licenseId');
    return this.decide('enclave', 'challenge', licenseId, async () => {
      const lic = await this.usableLicense(licenseId);
      if (token !== undefined) {
        const model = await this.store.getModel(lic.modelId);
        openLicense(token, model!.providerPub); // LICENSE_INVALID when the signature is forged
        if (token !== lic.token) throw new EnclaveNnError('LICENSE_INVALID', `Cannot accept license ${licenseId}: the token is not the one issued`);
      }
      // 32 random bytes: unpredictable, so a quote made for it cannot exist before this answer.
      const nonce = randomBytes(NONCE_SIZE);
      const expiresAt = this.now() + this.nonceTtl;
      await this.store.putNonce({ nonce, modelId: lic.modelId, licenseId, expiresAt });
      // Unanswered challenges expire; sweep them now and then so the table stays small.
      if (++this.challenges % 256 === 0) await this.store.purgeNonces(this.now());
      return { value: { nonce, modelId: lic.modelId, expiresAt }, reason: `nonce issued, expires ${expiresAt}` };
    });
  }

  /**
   * Provisions an attested enclave (§4.3): consumes the nonce, verifies the quote under the
   * model's policy with REPORTDATA = SHA-512(keyPub ‖ nonce), checks the license, allocates the
   * first allowance and wraps {model key, license package} to `keyPub`.
   */
  async provision(body: { licenseId?: unknown; nonce?: unknown; evidence?: unknown; keyPub?: unknown }): Promise<ProvisionResult> {
    const licenseId = idField(body.licenseId, 'licenseId');
    const nonce = bytesField(body.nonce, 'nonce', [NONCE_SIZE, NONCE_SIZE]);
    const evidence = bytesField(body.evidence, 'evidence', [1, 65536]);
    const keyPub = bytesField(body.keyPub, 'keyPub', [32, 32]);
    return this.decide('enclave', 'provision', licenseId, async () => {
      // DELETE … RETURNING: a nonce answers exactly one provisioning request (replays fail here).
      const n = await this.store.takeNonce(nonce);
      if (!n) {
        // A retry of a provisioning whose answer was lost gets the same answer (§4.3), not new credits.
        const again = await this.provisionVerified(licenseId, nonce, evidence, keyPub, { retry: true });
        if (again) return again;
        throw new EnclaveNnError('PROVISION_NONCE', 'Cannot provision: the nonce is unknown or was already used (replay)');
      }
      if (n.expiresAt < this.now()) throw new EnclaveNnError('PROVISION_NONCE', 'Cannot provision: the nonce expired');
      if (n.licenseId !== licenseId) throw new EnclaveNnError('PROVISION_NONCE', `Cannot provision: the nonce was issued for license ${n.licenseId}`);
      return (await this.provisionVerified(licenseId, nonce, evidence, keyPub))!;
    });
  }

  /**
   * Air-gapped fulfilment (§4.6), as {@link provision}; the request's nonce is consumed in the
   * transaction that moves the credits, so a refused request can be fulfilled later and a
   * fulfilled one never again.
   */
  async fulfill(req: Partial<LicenseRequest>): Promise<LicenseResponse> {
    if (req.type !== 'enclave-nn-license-request' || req.version !== 1) throw new EnclaveNnError('BAD_REQUEST', 'Cannot fulfil: not an enclave-nn-license-request version 1');
    const licenseId = idField(req.licenseId, 'licenseId');
    const nonce = bytesField(req.nonce, 'nonce', [NONCE_SIZE, NONCE_SIZE]);
    const evidence = bytesField(req.evidence, 'evidence', [1, 65536]);
    const keyPub = bytesField(req.keyPub, 'keyPub', [32, 32]);
    return this.decide('admin', 'fulfill', licenseId, async () => {
      // Checked first for a clear answer; the binding check is the insert in provisionEnclave.
      if (await this.store.isNonceConsumed(nonce)) throw new EnclaveNnError('PROVISION_NONCE', 'Cannot fulfil: this request was fulfilled before (replay)');
      const r = (await this.provisionVerified(licenseId, nonce, evidence, keyPub, { consumeNonce: true, modelId: req.modelId }))!;
      const v = r.value;
      return {
        value: { type: 'enclave-nn-license-response', version: 1, licenseId, modelId: v.modelId, nonce: toBase64Url(nonce), enclaveId: v.enclaveId, allowance: v.allowance, wrapped: toBase64Url(v.wrapped) },
        reason: r.reason,
      };
    });
  }

  /**
   * Verifies the quote and provisions. `retry`: the nonce was already taken — answer again only
   * if this exact (license, nonce, key) provisioned an enclave that never checked in, within the
   * nonce lifetime (the same allowance, no credits move); else undefined.
   */
  private async provisionVerified(
    licenseId: string, nonce: Uint8Array, evidence: Uint8Array, keyPub: Uint8Array,
    o: { retry?: boolean; consumeNonce?: boolean; modelId?: unknown } = {},
  ): Promise<{ value: ProvisionResult; reason: string } | undefined> {
    // The report key is derived, not drawn: HKDF of the master key over (nonce, attested key), so
    // a retried request finds its enclave again; it travels only inside the attested wrap, so only
    // this enclave can sign usage reports under it (the server stores its public half only).
    const reportSeed = hkdfSha256(this.masterKey, nonce, [LABEL_REPORT_SEED, keyPub], 32);
    const enclaveId = enclaveIdOf(reportSeed);
    let previous: Awaited<ReturnType<LicenseStore['getEnclave']>>;
    if (o.retry) {
      previous = await this.store.getEnclave(enclaveId);
      if (!previous || previous.licenseId !== licenseId || previous.lastSeq !== 0 || this.now() > previous.createdAt + this.nonceTtl) { zeroize(reportSeed); return undefined; }
    }
    let modelKey: Uint8Array | undefined;
    let signingSeed: Uint8Array | undefined;
    let pkg: Uint8Array | undefined;
    try {
      const lic = await this.usableLicense(licenseId);
      // Before any credit moves: an air-gapped request names the model it was made for.
      if (o.modelId !== undefined && o.modelId !== lic.modelId) throw new EnclaveNnError('LICENSE_MODEL', `Cannot fulfil: license ${licenseId} is for model ${lic.modelId}, the request names ${String(o.modelId)}`);
      const model = await this.store.getModel(lic.modelId);
      if (!model) throw new EnclaveNnError('MODEL_UNKNOWN', `Cannot provision: model ${lic.modelId} is not registered`);
      const p = model.policy;
      // A sim model goes to sim enclaves only, and only when the server was started INSECURE with
      // the sim root: a sim quote is signed by a key in a local file, so it proves nothing.
      if (p.insecureSim === true && !this.insecureSimRoot) {
        throw new EnclaveNnError('ATTEST_SIM_UNTRUSTED', `Cannot provision: model ${model.id} is registered as a sim model (INSECURE) and this server does not trust sim quotes (license-server --insecure-trust-sim)`);
      }
      const sim = p.insecureSim === true;
      // The quote must chain to a pinned root, come from an accepted measurement, and carry
      // REPORTDATA = SHA-512(keyPub ‖ nonce): the key we wrap to is the attested enclave's.
      // Under a production root it must also pass TCB and revocation checks (§4.5.1).
      const v = verifyQuote(evidence, {
        roots: sim ? [this.insecureSimRoot!] : this.roots, at: new Date(this.now() * 1000),
        policy: {
          ...(p.mrEnclave.length ? { mrEnclave: p.mrEnclave } : {}),
          ...(p.mrSigner.length ? { mrSigner: p.mrSigner } : {}),
          allowDebug: sim || p.allowDebug, minIsvSvn: p.minIsvSvn,
          reportData: reportDataFor(keyPub, nonce),
        },
        collateral: (pck) => {
          if (!this.collateralRoots.some((r) => r.sha256 === pck.pinned.sha256)) return undefined;
          if (!this.collateral) throw new EnclaveNnError('ATTEST_COLLATERAL_MISSING', `Cannot check the platform's TCB: this server has no DCAP collateral (license-server --collateral DIR), so quotes under ${pck.pinned.name} are refused`);
          return this.collateral.forChain(pck);
        },
        tcbPolicy: { acceptedStatuses: p.acceptedTcbStatuses ?? ['UpToDate'] },
      });
      const tcb = v.tcb ? `TCB ${v.tcb.status}${v.tcb.advisoryIds.length ? ` (${v.tcb.advisoryIds.join(', ')})` : ''}` : 'TCB not evaluated (INSECURE sim root, no Intel collateral)';
      // Everything that can fail comes before credits move: the secrets open, the key takes a wrap
      // (a low-order X25519 key is refused here), so no allocation is ever stranded.
      ({ modelKey, signingSeed } = openModelSecrets(this.masterKey, model.id, model.secrets));
      wrapToX25519(keyPub, new Uint8Array(0), new Uint8Array(0));
      const credit = previous
        ? { granted: 0, allowance: previous.firstAllowance }
        : await this.store.provisionEnclave({ id: enclaveId, licenseId, keyPub, mrEnclave: v.mrEnclave, now: this.now(), ...(o.consumeNonce ? { consumeNonce: nonce } : {}) });
      // seq 0 echoes the challenge nonce: the wrap's transcript already binds the package to it (§5.4).
      // A retry signs the very grant of the first answer (Ed25519 is deterministic): nothing new.
      const grant = signGrant({ licenseId, enclaveId, seq: 0, nonce: toHex(nonce), allowance: credit.allowance, issuedAt: previous?.createdAt ?? this.now() }, signingSeed);
      pkg = encodeLicensePackage({ reportSeed, license: lic.token, grant: grant.token });
      const wrapped = wrapProvisionPayload(keyPub, provisionTranscript(model.id, nonce, evidence), modelKey, pkg);
      return {
        value: { licenseId, modelId: model.id, enclaveId, allowance: credit.allowance, wrapped },
        reason: `${sim ? 'INSECURE sim ' : ''}enclave ${enclaveId.slice(0, 16)} (MRENCLAVE ${v.mrEnclave.slice(0, 16)}${v.debug ? ', DEBUG' : ''}; ${tcb}) ${previous ? `answered again (a retry: its first answer was lost), ${credit.allowance} credits as before, none granted` : `provisioned, ${credit.granted} credits granted`}`,
      };
    } finally {
      zeroize(reportSeed);
      if (modelKey) zeroize(modelKey);
      if (signingSeed) zeroize(signingSeed);
      if (pkg) zeroize(pkg);
    }
  }

  /**
   * A license that exists, is not revoked, is inside its window (server clock) and is not stopped
   * by its model's monitor action after an alarm (§5.2.1; the ledger checks again when credits move).
   */
  private async usableLicense(licenseId: string): Promise<LicenseRecord> {
    const lic = await this.store.getLicense(licenseId);
    if (!lic) throw new EnclaveNnError('LICENSE_UNKNOWN', `Cannot use license ${licenseId}: it does not exist`);
    this.checkUsable(lic);
    if (lic.monitorAlarmAt !== null && (await this.store.getModel(lic.modelId))?.policy.monitor === 'stop') {
      throw new EnclaveNnError(LICENSE_STOPPED, `Cannot use license ${lic.id}: ${stoppedDetail(lic.monitorAlarmAt)}`);
    }
    return lic;
  }

  private checkUsable(lic: LicenseRecord): void {
    if (lic.revokedAt !== null) throw new EnclaveNnError('LICENSE_REVOKED', `Cannot use license ${lic.id}: it was revoked (${lic.revokedReason ?? 'no reason given'})`);
    checkWindow({ licenseId: lic.id, notBefore: lic.notBefore, notAfter: lic.notAfter }, this.now());
  }

  /**
   * A usage report (§5.3): verifies its signature with the enclave's report key, records the
   * usage atomically (sequence numbers must increase), and answers a grant topping the enclave
   * up to its offline grace — unless the license is revoked or expired.
   */
  async usage(body: { report?: unknown }): Promise<{ grant: string; allowance: number; granted: number }> {
    if (typeof body.report !== 'string') throw new EnclaveNnError('BAD_REQUEST', 'Cannot read request: report must be a string');
    const token = body.report;
    // The audit subject is the license the report names, once it decodes (even if forged).
    let subject = 'unknown';
    let report: UsageReport | undefined;
    let bad: unknown;
    try { report = openSelfNamedUsageReport(token, (d) => { subject = d.licenseId; }); } catch (e) { bad = e; }
    return this.decide('enclave', 'usage', subject, async () => {
      // The enclave id is the report key itself (§5.1), which reached only the attested enclave:
      // a valid signature means that enclave made this report; any modified byte fails here.
      if (!report) throw bad;
      const r = report;
      // The verdict is signed with the report: an alarm latches on the license in the check-in
      // (after the enclave's checks there), where the model's monitor action caps the grant.
      const alarm = r.monitor?.alarm === 1;
      const res = await this.store.checkIn({ enclaveId: r.enclaveId, licenseId: r.licenseId, seq: r.seq, used: r.used, allowance: r.allowance, now: this.now(), alarm });
      // The extraction monitor's signed verdict (§5.2.1): an alarm is an audit row (the `report` action), refused top-up or not.
      if (alarm) await this.store.audit({ at: this.now(), actor: 'enclave', action: 'monitor', subject: r.licenseId, outcome: 'ok', code: 'EXTRACTION_ALARM', reason: monitorText(r) });
      // A revoked, expired or stopped license: the usage is recorded, no credits are granted.
      if (res.refused) throw new EnclaveNnError(res.refused.code, `Cannot use license ${r.licenseId}: ${res.refused.detail}; usage recorded (${r.used} samples), no top-up`);
      // The grant echoes the report's nonce: the enclave takes it only as the answer to that report (§5.4).
      const g = signGrant({ licenseId: r.licenseId, enclaveId: r.enclaveId, seq: r.seq, nonce: r.nonce, allowance: res.allowance, issuedAt: this.now() }, await this.signingSeed(res.modelId));
      // The check-in wrote its own audit entry in its transaction (store.checkIn).
      return { value: { grant: g.token, allowance: res.allowance, granted: res.granted }, reason: '', audited: true };
    });
  }

  /**
   * The provider signing key of a model, decrypted once and kept in this process's memory
   * (grants are signed on every top-up; the database copy stays encrypted).
   */
  private async signingSeed(modelId: string): Promise<Ed25519Signer> {
    let signer = this.signers.get(modelId);
    if (!signer) {
      const model = await this.store.getModel(modelId);
      if (!model) throw new EnclaveNnError('MODEL_UNKNOWN', `Cannot sign for model ${modelId}: it is not registered`);
      const s = openModelSecrets(this.masterKey, model.id, model.secrets);
      signer = ed25519Signer(s.signingSeed);
      zeroize(s.modelKey, s.signingSeed);
      this.signers.set(modelId, signer);
    }
    return signer;
  }

  // ── admin ─────────────────────────────────────────────────────────────────────────────────

  /** Registers a model from its provider key and policy; its secrets are stored encrypted. */
  async addModel(key: ProviderKey, policy: ModelPolicy): Promise<{ modelId: string }> {
    return this.decide('admin', 'models.add', key.modelId, async () => {
      checkPolicy(policy);
      await this.store.addModel({
        id: key.modelId, providerPub: key.signingPublicKey, secrets: sealModelSecrets(this.masterKey, key.modelId, key.modelKey, key.signingKey), policy, createdAt: this.now(),
      });
      return { value: { modelId: key.modelId }, reason: `registered; ${policyText(policy)}` };
    });
  }

  /** Replaces a registered model's policy (its keys stay as they are). */
  async updateModel(idIn: unknown, policy: ModelPolicy): Promise<{ modelId: string }> {
    const id = idField(idIn, 'model id');
    return this.decide('admin', 'models.update', id, async () => {
      checkPolicy(policy);
      if (!(await this.store.updateModelPolicy(id, policy))) throw new EnclaveNnError('MODEL_UNKNOWN', `Cannot update model ${id}: it is not registered`);
      return { value: { modelId: id }, reason: `policy replaced; ${policyText(policy)}` };
    });
  }

  /** Removes a registered model and its stored keys; refused while licenses name it. */
  async removeModel(idIn: unknown): Promise<{ modelId: string }> {
    const id = idField(idIn, 'model id');
    return this.decide('admin', 'models.remove', id, async () => {
      const r = await this.store.removeModel(id);
      if (r === 'unknown') throw new EnclaveNnError('MODEL_UNKNOWN', `Cannot remove model ${id}: it is not registered`);
      if (typeof r === 'number') throw new EnclaveNnError('STORE_CONFLICT', `Cannot remove model ${id}: ${r} license(s) name it (its usage history stays; revoke them instead)`);
      this.signers.delete(id);
      return { value: { modelId: id }, reason: 'removed' };
    });
  }

  /** Adds a customer. */
  async addCustomer(idIn: unknown, nameIn: unknown): Promise<{ customerId: string }> {
    const id = idField(idIn, 'customer id');
    const name = typeof nameIn === 'string' && nameIn.length <= 200 ? nameIn : id;
    return this.decide('admin', 'customers.add', id, async () => {
      await this.store.addCustomer({ id, name, createdAt: this.now() });
      return { value: { customerId: id }, reason: 'added' };
    });
  }

  /** Issues and signs a license (§3). */
  async grantLicense(o: GrantOptions): Promise<LicenseRecord> {
    const licenseId = o.licenseId === undefined ? `lic-${toHex(randomBytes(6))}` : idField(o.licenseId, 'licenseId');
    const modelId = idField(o.modelId, 'modelId');
    const customerId = idField(o.customerId, 'customerId');
    const credits = nonNeg(o.credits, 'credits');
    const notBefore = o.notBefore === undefined ? this.now() : nonNeg(o.notBefore, 'notBefore');
    const notAfter = o.notAfter === undefined ? notBefore + 365 * 86400 : nonNeg(o.notAfter, 'notAfter');
    const offline = {
      maxInferences: o.offline?.maxInferences === undefined ? Math.max(1, credits) : nonNeg(o.offline.maxInferences, 'offline.maxInferences'),
      maxSeconds: o.offline?.maxSeconds === undefined ? 7 * 86400 : nonNeg(o.offline.maxSeconds, 'offline.maxSeconds'),
    };
    return this.decide('admin', 'licenses.grant', licenseId, async () => {
      const model = await this.store.getModel(modelId);
      if (!model) throw new EnclaveNnError('MODEL_UNKNOWN', `Cannot grant license: model ${modelId} is not registered`);
      if (!(await this.store.hasCustomer(customerId))) throw new EnclaveNnError('CUSTOMER_UNKNOWN', `Cannot grant license: customer ${customerId} does not exist`);
      const { modelKey, signingSeed } = openModelSecrets(this.masterKey, modelId, model.secrets);
      zeroize(modelKey);
      let lic;
      try {
        lic = signLicense({ licenseId, modelId, customerId, notBefore, notAfter, credits, offline }, signingSeed);
      } catch (e) {
        throw new EnclaveNnError('BAD_REQUEST', `Cannot grant license: ${(e as Error).message}`);
      } finally {
        zeroize(signingSeed);
      }
      await this.store.addLicense({
        id: licenseId, modelId, customerId, notBefore, notAfter, creditsTotal: credits,
        offlineMaxInferences: offline.maxInferences, offlineMaxSeconds: offline.maxSeconds, token: lic.token, createdAt: this.now(),
      });
      return { value: (await this.store.getLicense(licenseId))!, reason: `granted ${credits} credits to ${customerId} for ${modelId}` };
    });
  }

  /** Revokes a license: no more provisioning, no more top-ups. */
  async revokeLicense(idIn: unknown, reasonIn: unknown): Promise<LicenseRecord> {
    const id = idField(idIn, 'licenseId');
    const why = typeof reasonIn === 'string' && reasonIn ? reasonIn.slice(0, 500) : 'revoked by the provider';
    return this.decide('admin', 'licenses.revoke', id, async () => {
      if (!(await this.store.revokeLicense(id, why, this.now()))) throw new EnclaveNnError('LICENSE_UNKNOWN', `Cannot revoke license ${id}: it does not exist`);
      return { value: (await this.store.getLicense(id))!, reason: why };
    });
  }

  /** Adds purchased credits to a license. */
  async addCredits(idIn: unknown, creditsIn: unknown): Promise<LicenseRecord> {
    const id = idField(idIn, 'licenseId');
    const n = nonNeg(creditsIn, 'credits');
    return this.decide('admin', 'licenses.credit', id, async () => {
      const total = await this.store.addCredits(id, n);
      if (total === undefined) throw new EnclaveNnError('LICENSE_UNKNOWN', `Cannot add credits to license ${id}: it does not exist`);
      return { value: (await this.store.getLicense(id))!, reason: `added ${n} credits, total ${total}` };
    });
  }
}

function nonNeg(v: unknown, what: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new EnclaveNnError('BAD_REQUEST', `Cannot read request: ${what} must be a non-negative integer`);
  return v as number;
}

/** A report's monitor verdict in a few words, for the audit log (statistics only: no input ever reaches the server). */
function monitorText(r: UsageReport): string {
  const m = r.monitor!;
  return `enclave ${r.enclaveId.slice(0, 16)} report ${r.seq}: extraction alarm since query ${m.alarmAt} of ${m.queries} (Shapiro–Wilk W ${(m.w / 1e6).toFixed(4)} over ${m.n} distances, lowest ${(m.minW / 1e6).toFixed(4)})`;
}

/** The policy in a few words, for the audit log. */
function policyText(p: ModelPolicy): string {
  if (p.insecureSim === true) return `INSECURE: sim model (sim enclaves on a server with --insecure-trust-sim${p.mrEnclave.length ? `, ${p.mrEnclave.length} MRENCLAVE` : ', any measurement'})`;
  const any = p.mrEnclave.length === 0 && p.mrSigner.length === 0;
  return `${any ? 'INSECURE: any measurement' : `${p.mrEnclave.length} MRENCLAVE, ${p.mrSigner.length} MRSIGNER`}${p.allowDebug ? ', DEBUG enclaves allowed' : ''}; TCB accepted: ${(p.acceptedTcbStatuses ?? ['UpToDate']).join(', ')}; on an extraction alarm: ${p.monitor ?? 'report'}`;
}

/** Validates a model policy (hex measurements, integer SVN). */
export function checkPolicy(p: ModelPolicy): void {
  const hexList = (l: unknown, what: string): void => {
    if (!Array.isArray(l) || !l.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h))) throw new EnclaveNnError('BAD_REQUEST', `Cannot register model: ${what} must be a list of 32-byte lowercase hex values`);
  };
  hexList(p.mrEnclave, 'policy.mrEnclave');
  hexList(p.mrSigner, 'policy.mrSigner');
  if (p.acceptedTcbStatuses !== undefined && (!Array.isArray(p.acceptedTcbStatuses) || p.acceptedTcbStatuses.length === 0 || !p.acceptedTcbStatuses.every((t) => ACCEPTABLE_TCB_STATUSES.includes(t)))) {
    throw new EnclaveNnError('BAD_REQUEST', `Cannot register model: policy.acceptedTcbStatuses must be a non-empty list of ${ACCEPTABLE_TCB_STATUSES.join(', ')}`);
  }
  if (typeof p.allowDebug !== 'boolean') throw new EnclaveNnError('BAD_REQUEST', 'Cannot register model: policy.allowDebug must be a boolean');
  nonNeg(p.minIsvSvn, 'policy.minIsvSvn');
  if (p.insecureSim !== undefined && typeof p.insecureSim !== 'boolean') throw new EnclaveNnError('BAD_REQUEST', 'Cannot register model: policy.insecureSim must be a boolean');
  if (p.monitor !== undefined && !isMonitorAction(p.monitor)) throw new EnclaveNnError('BAD_REQUEST', `Cannot register model: policy.monitor must be ${MONITOR_ACTION_WORDS}`);
}

/** The spelling of a monitor action, for error messages. */
export const MONITOR_ACTION_WORDS = "'report', 'throttle:N/h' (N a positive integer: credits per hour) or 'stop'";

/**
 * True for a monitor action (§5.2.1): `report`, `stop`, or `throttle:N/h` with 1 ≤ N ≤ 2^53 − 1,
 * written without leading zeros — the one spelling `enn_monitor_cap` reads.
 */
export function isMonitorAction(v: unknown): v is NonNullable<ModelPolicy['monitor']> {
  if (v === 'report' || v === 'stop') return true;
  const m = typeof v === 'string' ? /^throttle:([1-9][0-9]*)\/h$/.exec(v) : null;
  return m !== null && Number.isSafeInteger(Number(m[1]));
}
