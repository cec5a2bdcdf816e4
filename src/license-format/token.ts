/**
 * License tokens, grants and usage reports: build, sign, decode and verify
 * (docs/license-protocol.md §3–§5). Pure functions: used by the server, the CLI and the
 * enclave-side enforcer alike.
 */
import type { Ed25519Signer } from '../crypto/ed25519-keys.ts';
import { EnclaveNnError } from '../errors.ts';
import { decodeSigned, openSigned, signObject, verifySigned, LABEL_GRANT, LABEL_LICENSE, LABEL_USAGE_REPORT } from './signed.ts';
import type { Grant, License, LicenseTerms, MonitorVerdict, UsageReport } from './types.ts';

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const HEX32_RE = /^[0-9a-f]{64}$/;

/** The `type` member of each signed object (§2). */
export const TYPE_LICENSE = 'enclave-nn-license';
/** @see TYPE_LICENSE */
export const TYPE_GRANT = 'enclave-nn-grant';
/** @see TYPE_LICENSE */
export const TYPE_USAGE = 'enclave-nn-usage';

/** Throws TypeError unless `s` is a valid id (licenses, models, customers: §3). */
export function checkId(s: unknown, what: string): string {
  if (typeof s !== 'string' || !ID_RE.test(s)) throw new TypeError(`${what} must match ${ID_RE.source}, got ${JSON.stringify(s)}`);
  return s;
}

function int(v: unknown, what: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new TypeError(`${what} must be a non-negative integer`);
  return v as number;
}

function hex32(v: unknown, what: string): string {
  if (typeof v !== 'string' || !HEX32_RE.test(v)) throw new TypeError(`${what} must be 32 bytes of lowercase hex`);
  return v;
}

/** Checks that `o` has exactly `keys` (a reader MUST reject unknown and missing members, §2). */
function exactKeys(o: Record<string, unknown>, keys: string[], what: string): void {
  const got = Object.keys(o).sort().join(',');
  const want = [...keys].sort().join(',');
  if (got !== want) throw new TypeError(`${what} must have exactly the members ${want}, got ${got}`);
}

function checkTerms(t: LicenseTerms): LicenseTerms {
  checkId(t.licenseId, 'licenseId');
  checkId(t.modelId, 'modelId');
  checkId(t.customerId, 'customerId');
  int(t.notBefore, 'notBefore');
  int(t.notAfter, 'notAfter');
  if (t.notAfter < t.notBefore) throw new RangeError('notAfter must not be before notBefore');
  int(t.credits, 'credits');
  int(t.offline.maxInferences, 'offline.maxInferences');
  int(t.offline.maxSeconds, 'offline.maxSeconds');
  if (t.offline.maxInferences < 1 || t.offline.maxSeconds < 1) throw new RangeError('offline grace must allow at least 1 inference and 1 second');
  return t;
}

/**
 * Signs license terms with the provider's Ed25519 seed (§3).
 *
 * @example
 * ```ts
 * const lic = signLicense({ licenseId: 'lic-1', modelId, customerId: 'acme', notBefore, notAfter,
 *   credits: 100, offline: { maxInferences: 100, maxSeconds: 86400 } }, providerKey.signingKey);
 * ```
 */
export function signLicense(terms: LicenseTerms, seed: Uint8Array | Ed25519Signer): License {
  const t = checkTerms(terms);
  const token = signObject(LABEL_LICENSE, {
    type: TYPE_LICENSE, version: 1,
    licenseId: t.licenseId, modelId: t.modelId, customerId: t.customerId,
    notBefore: t.notBefore, notAfter: t.notAfter, credits: t.credits,
    offline: { maxInferences: t.offline.maxInferences, maxSeconds: t.offline.maxSeconds },
  }, seed);
  return { ...t, offline: { ...t.offline }, token };
}

/** What {@link verifyLicense} checks besides the signature. */
export interface VerifyLicenseOptions {
  /** The model the license must name (a reader MUST reject another, §3.2). */
  modelId: string;
  /** Verification time, Unix seconds; outside [notBefore, notAfter] is refused. */
  now: number;
}

/**
 * Verifies a license token (§3.2): format, signature by `providerKey`, model id, validity
 * window. Throws `EnclaveNnError` with code `LICENSE_INVALID` (malformed, forged),
 * `LICENSE_MODEL` or `LICENSE_EXPIRED`/`LICENSE_NOT_YET_VALID`.
 *
 * @example
 * ```ts
 * const lic = verifyLicense(token, providerPublicKey, { modelId: bundle.header.modelId, now: Math.floor(Date.now() / 1000) });
 * ```
 */
export function verifyLicense(token: string, providerKey: Uint8Array, opts: VerifyLicenseOptions): License {
  const lic = openLicense(token, providerKey);
  if (lic.modelId !== opts.modelId) {
    throw new EnclaveNnError('LICENSE_MODEL', `Cannot accept license ${lic.licenseId}: it is for model ${lic.modelId}, not ${opts.modelId}`);
  }
  checkWindow(lic, opts.now);
  return lic;
}

/** Throws `LICENSE_EXPIRED` / `LICENSE_NOT_YET_VALID` unless notBefore ≤ now ≤ notAfter. */
export function checkWindow(lic: Pick<LicenseTerms, 'licenseId' | 'notBefore' | 'notAfter'>, now: number): void {
  if (now > lic.notAfter) throw new EnclaveNnError('LICENSE_EXPIRED', `Cannot use license ${lic.licenseId}: it expired at ${new Date(lic.notAfter * 1000).toISOString()}`);
  if (now < lic.notBefore) throw new EnclaveNnError('LICENSE_NOT_YET_VALID', `Cannot use license ${lic.licenseId}: it is valid from ${new Date(lic.notBefore * 1000).toISOString()}`);
}

/** Decodes and checks the signature and format of a license token, not its model or window. */
export function openLicense(token: string, providerKey: Uint8Array): License {
  const o = openSigned(token, LABEL_LICENSE, providerKey, 'license', 'LICENSE_INVALID');
  try {
    const v = o.value;
    exactKeys(v, ['type', 'version', 'licenseId', 'modelId', 'customerId', 'notBefore', 'notAfter', 'credits', 'offline'], 'license');
    if (v.type !== TYPE_LICENSE || v.version !== 1) throw new TypeError(`license type/version must be ${TYPE_LICENSE}/1`);
    const off = v.offline as Record<string, unknown>;
    if (typeof off !== 'object' || off === null) throw new TypeError('offline must be an object');
    exactKeys(off, ['maxInferences', 'maxSeconds'], 'offline');
    const terms = checkTerms({
      licenseId: v.licenseId as string, modelId: v.modelId as string, customerId: v.customerId as string,
      notBefore: v.notBefore as number, notAfter: v.notAfter as number, credits: v.credits as number,
      offline: { maxInferences: off.maxInferences as number, maxSeconds: off.maxSeconds as number },
    });
    return { ...terms, token };
  } catch (cause) {
    if (cause instanceof EnclaveNnError) throw cause;
    throw new EnclaveNnError('LICENSE_INVALID', `Cannot accept license: ${(cause as Error).message}`, { cause });
  }
}

/** Reads the license id of a token without verifying it (for messages and lookups). */
export function peekLicenseId(token: string): string | undefined {
  try {
    const id = decodeSigned(token, 'license', 'LICENSE_INVALID').value.licenseId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Signs a grant (§5) with the provider's seed. */
export function signGrant(g: Omit<Grant, 'token'>, seed: Uint8Array | Ed25519Signer): Grant {
  checkId(g.licenseId, 'licenseId');
  hex32(g.enclaveId, 'enclaveId'); hex32(g.nonce, 'nonce');
  int(g.seq, 'seq'); int(g.allowance, 'allowance'); int(g.issuedAt, 'issuedAt');
  const token = signObject(LABEL_GRANT, {
    type: TYPE_GRANT, version: 1, licenseId: g.licenseId, enclaveId: g.enclaveId, seq: g.seq, nonce: g.nonce, allowance: g.allowance, issuedAt: g.issuedAt,
  }, seed);
  return { ...g, token };
}

/** Verifies a grant's signature and format (§5); throws `GRANT_INVALID`. */
export function openGrant(token: string, providerKey: Uint8Array): Grant {
  const o = openSigned(token, LABEL_GRANT, providerKey, 'grant', 'GRANT_INVALID');
  try {
    const v = o.value;
    exactKeys(v, ['type', 'version', 'licenseId', 'enclaveId', 'seq', 'nonce', 'allowance', 'issuedAt'], 'grant');
    if (v.type !== TYPE_GRANT || v.version !== 1) throw new TypeError(`grant type/version must be ${TYPE_GRANT}/1`);
    checkId(v.licenseId, 'licenseId');
    const enclaveId = hex32(v.enclaveId, 'enclaveId');
    const nonce = hex32(v.nonce, 'nonce');
    return { licenseId: v.licenseId as string, enclaveId, seq: int(v.seq, 'seq'), nonce, allowance: int(v.allowance, 'allowance'), issuedAt: int(v.issuedAt, 'issuedAt'), token };
  } catch (cause) {
    throw new EnclaveNnError('GRANT_INVALID', `Cannot accept grant: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Signs a usage report (§5) with the enclave's report key seed: version 2 with the monitor's
 * verdict (§5.2.1) when `r.monitor` is given, else version 1.
 */
export function signUsageReport(r: Omit<UsageReport, 'token'>, seed: Uint8Array | Ed25519Signer): UsageReport {
  const monitor = r.monitor === undefined ? undefined : monitorFields(r.monitor);
  const token = signObject(LABEL_USAGE_REPORT, {
    type: TYPE_USAGE, version: monitor ? 2 : 1, licenseId: r.licenseId, enclaveId: r.enclaveId, seq: r.seq, nonce: r.nonce, used: r.used, allowance: r.allowance, at: r.at,
    ...(monitor ? { monitor: { ...monitor } } : {}),
  }, seed);
  return { ...r, token };
}

const MONITOR_KEYS = ['alarm', 'alarmAt', 'queries', 'n', 'w', 'minW'];

/** Checks a verdict (§5.2.1): exact members, integers, W in millionths ≤ 1000000, minW ≤ w, the alarm flag agreeing with alarmAt ≤ queries. */
function monitorFields(v: unknown): MonitorVerdict {
  if (typeof v !== 'object' || v === null) throw new TypeError('monitor must be an object');
  const o = v as Record<string, unknown>;
  exactKeys(o, MONITOR_KEYS, 'monitor');
  const m = { alarm: int(o.alarm, 'monitor.alarm'), alarmAt: int(o.alarmAt, 'monitor.alarmAt'), queries: int(o.queries, 'monitor.queries'), n: int(o.n, 'monitor.n'), w: int(o.w, 'monitor.w'), minW: int(o.minW, 'monitor.minW') };
  if (m.alarm > 1 || (m.alarm === 1) !== (m.alarmAt > 0) || m.alarmAt > m.queries) throw new RangeError('monitor.alarm must be 0 or 1, and 1 exactly when 0 < alarmAt ≤ queries');
  if (m.w > 1_000_000 || m.minW > m.w || m.n > m.queries) throw new RangeError('monitor.w must be at most 1000000, minW at most w, n at most queries');
  return m as MonitorVerdict;
}

/**
 * Verifies a usage report whose signer is the enclave it names: the enclave id is the report
 * key (§5.1). Decodes once; throws `USAGE_INVALID`. Returns the report (its license id is
 * readable even when the signature fails, for the audit log: see `onDecoded`).
 */
export function openSelfNamedUsageReport(token: string, onDecoded?: (r: Omit<UsageReport, 'token'>) => void): UsageReport {
  const o = decodeSigned(token, 'usage report', 'USAGE_INVALID');
  const r = usageFields(o.value);
  onDecoded?.(r);
  if (!verifySigned(LABEL_USAGE_REPORT, o, r.enclaveId)) {
    throw new EnclaveNnError('USAGE_INVALID', 'Cannot accept usage report: its signature does not verify');
  }
  return { ...r, token };
}

/** Verifies a usage report's signature with the enclave's report key, and its format (§5). */
export function openUsageReport(token: string, enclaveKey: Uint8Array): UsageReport {
  const o = openSigned(token, LABEL_USAGE_REPORT, enclaveKey, 'usage report', 'USAGE_INVALID');
  return { ...usageFields(o.value), token };
}

function usageFields(v: Record<string, unknown>): Omit<UsageReport, 'token'> {
  try {
    // Version 1: no monitor; version 2: the monitor's verdict (§5.2.1). Nothing else is read.
    if (v.type !== TYPE_USAGE || (v.version !== 1 && v.version !== 2)) throw new TypeError(`usage report type/version must be ${TYPE_USAGE}/1 or 2`);
    exactKeys(v, ['type', 'version', 'licenseId', 'enclaveId', 'seq', 'nonce', 'used', 'allowance', 'at', ...(v.version === 2 ? ['monitor'] : [])], 'usage report');
    checkId(v.licenseId, 'licenseId');
    const r = {
      licenseId: v.licenseId as string, enclaveId: hex32(v.enclaveId, 'enclaveId'), seq: int(v.seq, 'seq'), nonce: hex32(v.nonce, 'nonce'),
      used: int(v.used, 'used'), allowance: int(v.allowance, 'allowance'), at: int(v.at, 'at'),
      ...(v.version === 2 ? { monitor: monitorFields(v.monitor) } : {}),
    };
    if (r.seq < 1) throw new RangeError('seq must be at least 1');
    return r;
  } catch (cause) {
    throw new EnclaveNnError('USAGE_INVALID', `Cannot accept usage report: ${(cause as Error).message}`, { cause });
  }
}
