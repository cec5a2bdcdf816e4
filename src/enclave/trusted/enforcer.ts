/**
 * The enclave side of licensing (docs/license-protocol.md §6): holds the license, the report
 * key and the counters inside the trusted program, checks every FORWARD, signs usage reports
 * and applies grants. Imported by the trusted program; it imports only pure code (no files,
 * no network) so it stays in the small trusted code base.
 */
import { concatBytes, ed25519PublicKeyOf, randomBytes, zeroize } from '../../crypto/index.ts';
import { ed25519Signer, type Ed25519Signer } from '../../crypto/ed25519-keys.ts';
import { canonicalJson, parseCanonicalJson } from '../../util/canonical-json.ts';
import { EnclaveNnError } from '../../errors.ts';
import { decodeLicensePackage, enclaveIdOf } from '../../license-format/provision.ts';
import { checkWindow, openGrant, signUsageReport, verifyLicense } from '../../license-format/token.ts';
import type { Grant, License, MonitorVerdict } from '../../license-format/types.ts';

/** What {@link LicenseEnforcer.status} shows the host (no secrets). */
export interface EnforcerStatus {
  licenseId: string;
  customerId: string;
  enclaveId: string;
  notAfter: number;
  /** Cumulative samples run. */
  used: number;
  /** Cumulative samples allowed by the last grant. */
  allowance: number;
  /** Samples left before the next check-in is required. */
  remaining: number;
  /** Last usage report sequence number issued. */
  seq: number;
  /** Server time of the last grant. */
  lastCheckin: number;
  /** The offline deadline: a check-in is required after this time. */
  checkinDeadline: number;
}

interface Counters { used: number; allowance: number; seq: number; lastCheckin: number; grantSeq: number }

/** Bytes of a report nonce (§5.2): 256 random bits, so no recorded grant can match a new report. */
const REPORT_NONCE_SIZE = 32;

/**
 * The license state of one enclave.
 *
 * @example
 * ```ts
 * const e = LicenseEnforcer.fromPackage(licenseBytes, { modelId, providerKey, now });
 * e.admit(batchSize, now);          // before FORWARD: throws LICENSE_QUOTA when exhausted
 * const report = e.usageReport(now); // → server; server answers a grant
 * e.applyGrant(grantToken);
 * ```
 */
export class LicenseEnforcer {
  readonly license: License;
  readonly enclaveId: string;
  private readonly seed: Uint8Array;
  private readonly sign: Ed25519Signer;
  private readonly providerKey: Uint8Array;
  private c: Counters;
  /**
   * Hex nonce of the latest report no grant has answered yet ('' = none). Drawn inside the
   * enclave, sealed with the counters: a grant is accepted only for it, once (§5.4), so grants
   * recorded before a rollback of the sealed state answer nothing the enclave now asks.
   */
  private pending: string;

  private constructor(license: License, seed: Uint8Array, providerKey: Uint8Array, c: Counters, pending = '') {
    this.license = license;
    this.seed = seed;
    this.sign = ed25519Signer(seed);
    this.providerKey = providerKey;
    this.enclaveId = enclaveIdOf(seed);
    this.c = c;
    this.pending = pending;
  }

  /**
   * Builds the state from a freshly provisioned license package (§4.4): verifies the license
   * (signature by the bundle's provider key, model id, window) and the initial grant (signature,
   * this enclave, seq 0). Throws `LICENSE_*` / `GRANT_INVALID`.
   */
  static fromPackage(bytes: Uint8Array, o: { modelId: string; providerKey: Uint8Array; now: number }): LicenseEnforcer {
    const p = decodeLicensePackage(bytes);
    const license = verifyLicense(p.license, o.providerKey, { modelId: o.modelId, now: o.now });
    const e = new LicenseEnforcer(license, p.reportSeed, o.providerKey, { used: 0, allowance: 0, seq: 0, lastCheckin: 0, grantSeq: -1 });
    // The initial grant (seq 0) came inside the attested, transcript-bound wrap: it answers this
    // provisioning, which is its freshness; its nonce (the challenge's) needs no match here.
    e.accept(e.checkedGrant(p.grant, 0));
    return e;
  }

  /** Restores the state from {@link exportState} bytes (after the platform unsealed them). */
  static fromState(bytes: Uint8Array, o: { modelId: string; providerKey: Uint8Array; now: number }): LicenseEnforcer {
    try {
      if (bytes.byteLength < 34 || bytes[0] !== 2) throw new TypeError('not a version-2 license state');
      const v = parseCanonicalJson(bytes.subarray(33)) as Record<string, unknown>;
      const license = verifyLicense(v.license as string, o.providerKey, { modelId: o.modelId, now: o.now });
      const c = v.counters as Counters;
      if (typeof c !== 'object' || c === null) throw new TypeError('counters missing');
      for (const k of ['used', 'allowance', 'seq', 'lastCheckin', 'grantSeq'] as const) if (!Number.isSafeInteger(c[k])) throw new TypeError(`counter ${k} is not an integer`);
      // A state sealed before report nonces existed has none outstanding: the next report draws one.
      const pending = v.pending ?? '';
      if (typeof pending !== 'string' || !/^([0-9a-f]{64})?$/.test(pending)) throw new TypeError('pending report nonce is not 32 bytes of hex');
      const { used, allowance, seq, lastCheckin, grantSeq } = c;
      return new LicenseEnforcer(license, bytes.slice(1, 33), o.providerKey, { used, allowance, seq, lastCheckin, grantSeq }, pending);
    } catch (cause) {
      if (cause instanceof EnclaveNnError) throw cause;
      throw new EnclaveNnError('LICENSE_STATE', `Cannot restore license state: ${(cause as Error).message}`, { cause });
    }
  }

  /** The state to seal (contains the report key: only ever hand it to the platform's sealing). */
  exportState(): Uint8Array {
    return concatBytes(Uint8Array.of(2), this.seed, new TextEncoder().encode(canonicalJson({ license: this.license.token, counters: { ...this.c }, pending: this.pending })));
  }

  /**
   * Checks that `samples` more inferences are allowed at `now` (Unix seconds, the host's clock)
   * and counts them (§6.2). Throws `LICENSE_EXPIRED`, `LICENSE_NOT_YET_VALID`,
   * `LICENSE_OFFLINE` (too long since the last check-in) or `LICENSE_QUOTA` (credits exhausted);
   * nothing is counted then.
   */
  admit(samples: number, now: number): void {
    if (!Number.isSafeInteger(samples) || samples < 1) throw new RangeError('samples must be a positive integer');
    checkWindow(this.license, now);
    const deadline = this.c.lastCheckin + this.license.offline.maxSeconds;
    if (now > deadline) {
      throw new EnclaveNnError('LICENSE_OFFLINE', `Cannot run inference: license ${this.license.licenseId} has not checked in with its server since ${new Date(this.c.lastCheckin * 1000).toISOString()} (offline grace ${this.license.offline.maxSeconds} s); connect to the license server`);
    }
    if (this.c.used + samples > this.c.allowance) {
      throw new EnclaveNnError('LICENSE_QUOTA', `Cannot run inference: license ${this.license.licenseId} quota exhausted: ${this.c.allowance - this.c.used} credits left, ${samples} asked (one credit per sample; ${this.c.used} of ${this.c.allowance} used); check in with the license server for more credits`);
    }
    this.c.used += samples;
  }

  /** Gives back `samples` admitted by {@link admit} whose inference then failed. */
  refund(samples: number): void {
    this.c.used = Math.max(0, this.c.used - samples);
  }

  /**
   * Signs a usage report with the next sequence number and a fresh random nonce (§5.2); only
   * the grant echoing this nonce can be applied next (an earlier report's grant no longer can).
   * With `monitor`, the extraction monitor's verdict is signed into it (version 2, §5.2.1).
   */
  usageReport(now: number, monitor?: MonitorVerdict): string {
    this.c.seq += 1;
    // Fresh from the enclave's CSPRNG: a rolled-back enclave re-signs the same seq, used and
    // allowance, and the host sets `at`, so without it the report — and its grant — would repeat.
    this.pending = Buffer.from(randomBytes(REPORT_NONCE_SIZE)).toString('hex');
    return signUsageReport({ licenseId: this.license.licenseId, enclaveId: this.enclaveId, seq: this.c.seq, nonce: this.pending, used: this.c.used, allowance: this.c.allowance, at: Math.max(0, Math.floor(now)), ...(monitor ? { monitor } : {}) }, this.sign).token;
  }

  /**
   * Applies a grant (§5.4): signature by the provider key, this license, this enclave, and the
   * answer to the latest outstanding report — its seq and its nonce — once. The allowance
   * never goes down. Throws `GRANT_INVALID`.
   */
  applyGrant(token: string): void {
    const g = this.checkedGrant(token, this.c.seq);
    // The nonce is what makes the grant fresh: seq numbers repeat after a rollback, nonces do not.
    if (this.pending === '' || g.nonce !== this.pending) throw new EnclaveNnError('GRANT_INVALID', `Cannot accept grant: it does not answer the latest outstanding report (${this.pending === '' ? 'none is outstanding' : `report ${this.c.seq}`}): a replayed or stale grant`);
    this.accept(g);
  }

  /** Opens a grant and checks signature, license, enclave and that it answers report `seq` (once). */
  private checkedGrant(token: string, seq: number): Grant {
    const g = openGrant(token, this.providerKey);
    if (g.licenseId !== this.license.licenseId) throw new EnclaveNnError('GRANT_INVALID', `Cannot accept grant: it is for license ${g.licenseId}, not ${this.license.licenseId}`);
    if (g.enclaveId !== this.enclaveId) throw new EnclaveNnError('GRANT_INVALID', 'Cannot accept grant: it was issued to another enclave');
    if (g.seq !== seq || g.seq <= this.c.grantSeq) throw new EnclaveNnError('GRANT_INVALID', `Cannot accept grant: it answers report ${g.seq}, not the latest report ${seq} (a replayed or stale grant)`);
    return g;
  }

  private accept(g: Grant): void {
    this.c.allowance = Math.max(this.c.allowance, g.allowance);
    this.c.lastCheckin = Math.max(this.c.lastCheckin, g.issuedAt);
    this.c.grantSeq = g.seq;
    this.pending = ''; // answered: the same grant never applies twice
  }

  /** A snapshot for STATUS (no secrets). */
  status(): EnforcerStatus {
    return {
      licenseId: this.license.licenseId, customerId: this.license.customerId, enclaveId: this.enclaveId, notAfter: this.license.notAfter,
      used: this.c.used, allowance: this.c.allowance, remaining: Math.max(0, this.c.allowance - this.c.used), seq: this.c.seq,
      lastCheckin: this.c.lastCheckin, checkinDeadline: this.c.lastCheckin + this.license.offline.maxSeconds,
    };
  }

  /** Overwrites the report key. */
  destroy(): void {
    zeroize(this.seed);
  }
}

/** The report key's public key (for tests and tools). */
export function reportPublicKey(seed: Uint8Array): Uint8Array {
  return ed25519PublicKeyOf(seed);
}
