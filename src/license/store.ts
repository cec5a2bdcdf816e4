/**
 * The license server's storage (docs/license-protocol.md §7). One SQL dialect (PostgreSQL's),
 * one schema ({@link MIGRATIONS}), two engines behind the tiny {@link SqlDb} interface: the
 * embedded PGlite (default, zero setup) and a PostgreSQL pool (several server processes).
 *
 * Every credit movement happens in one transaction whose license row update is a single
 * `UPDATE … WHERE revoked_at IS NULL … RETURNING`, so concurrent top-ups from any number of
 * server processes can neither double-spend nor pass a revocation. Nonces are single-use by
 * `DELETE … RETURNING`. Check-ins that arrive while one is in flight travel together, in one
 * call of `enn_check_in_batch` (§7).
 */
import type { TcbStatus } from '../attest/types.ts';
import { EnclaveNnError } from '../errors.ts';
import { MIGRATIONS } from './migrations.ts';

/** The SQL engine a store runs on: a query and a transaction, nothing more. */
export interface SqlDb {
  /**
   * Runs one statement with `$1…` parameters; resolves to its rows. A `name` makes it a
   * prepared statement, parsed and planned once per connection (PostgreSQL); an engine without
   * a network round trip to save (PGlite) may ignore it. One name, one SQL text.
   */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[], name?: string): Promise<R[]>;
  /** Runs `fn` in one transaction (BEGIN … COMMIT, ROLLBACK on throw). */
  transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T>;
  /** Closes the engine. */
  close(): Promise<void>;
}

/** What the server requires of a model's enclaves (§4.5). */
export interface ModelPolicy {
  /** Accepted MRENCLAVE values (hex); empty = any (insecure, development only). */
  mrEnclave: string[];
  /** Accepted MRSIGNER values (hex); empty = any. */
  mrSigner: string[];
  /** Accept enclaves with the DEBUG attribute (the sim platform always sets it). */
  allowDebug: boolean;
  /** Minimum ISVSVN. */
  minIsvSvn: number;
  /**
   * TCB statuses accepted for quotes checked against DCAP collateral (§4.5.1); others are
   * opt-in by name. @defaultValue ['UpToDate']
   */
  acceptedTcbStatuses?: TcbStatus[];
  /**
   * INSECURE, development: a sim model (its bundle's policy names the sim platform only). Its key
   * goes to sim enclaves only (DEBUG accepted), and only on a server started with
   * `--insecure-trust-sim`; empty `mrEnclave` = any sim program. @defaultValue false
   */
  insecureSim?: boolean;
  /**
   * What an extraction alarm (a verified usage report with `monitor.alarm` = 1, §5.2.1) does to
   * the license it came under, from then on: `report` an audit row only; `throttle:N/h` at most
   * N credits granted in any hour (3600 s) after the alarm; `stop` no more challenges, provisioning
   * or top-ups (`LICENSE_STOPPED`). The alarm is latched per license. @defaultValue 'report'
   */
  monitor?: MonitorAction;
}

/** A model policy's answer to an extraction alarm ({@link ModelPolicy.monitor}). */
export type MonitorAction = 'report' | 'stop' | `throttle:${number}/h`;

/** The stable code of a refusal under the monitor action `stop`. */
export const LICENSE_STOPPED = 'LICENSE_STOPPED';

/** A registered model. */
export interface ModelRecord {
  id: string;
  providerPub: Uint8Array;
  /** Model key ‖ signing seed, encrypted under the server master key. */
  secrets: Uint8Array;
  policy: ModelPolicy;
  createdAt: number;
}

/** A license row: its signed token and its ledger. */
export interface LicenseRecord {
  id: string;
  modelId: string;
  customerId: string;
  notBefore: number;
  notAfter: number;
  creditsTotal: number;
  creditsAllocated: number;
  offlineMaxInferences: number;
  offlineMaxSeconds: number;
  token: string;
  revokedAt: number | null;
  revokedReason: string | null;
  /** When the first usage report carrying an extraction alarm was accepted (latched), or null. */
  monitorAlarmAt: number | null;
  createdAt: number;
}

/** One decision of the server, with its reason (the audit log). */
export interface AuditEntry {
  at: number;
  actor: string;
  action: string;
  subject: string;
  outcome: 'ok' | 'refused';
  code: string;
  reason: string;
}

/** The outcome of a ledger operation that may grant credits. */
export interface CreditResult {
  /** Credits moved from the license to the enclave by this operation. */
  granted: number;
  /** The enclave's cumulative allowance after it. */
  allowance: number;
}

const num = (v: unknown): number => Number(v);
const bytes = (v: unknown): Uint8Array => new Uint8Array(v as Uint8Array);

/** A usage report whose signature was verified, as {@link LicenseStore.checkIn} takes it. */
export interface CheckIn {
  enclaveId: string; licenseId: string; seq: number; used: number; allowance: number; now: number;
  /** The report's extraction monitor alarms (`monitor.alarm` = 1): latches the license's alarm. @defaultValue false */
  alarm?: boolean;
}
/** What a check-in did: its grant, the model to sign it for, or why the license granted nothing. */
export type CheckInResult = CreditResult & { modelId: string; refused?: { code: string; detail: string } };
interface PendingCheckIn { r: CheckIn; resolve: (v: CheckInResult) => void; reject: (e: unknown) => void }

/** Calls of `enn_check_in_batch` one store keeps in flight: check-ins beyond wait and go together. */
export const CHECK_IN_MAX_IN_FLIGHT = 2;
/** Most check-ins in one call (bounds the transaction and its locks). */
export const CHECK_IN_MAX_BATCH = 64;
const CHECK_IN_BATCH_SQL = 'SELECT * FROM enn_check_in_batch($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::boolean[], $7, $8)';
// A batch of one (every check-in when none queue: a server below saturation) calls enn_check_in
// itself: the same transaction and lock order (enclave row, then license row) without the batch
// wrapper's PL/pgSQL loop and array parameters (≈ 0.1 ms of PostgreSQL CPU per top-up).
const CHECK_IN_ONE_SQL = 'SELECT 1 AS i, c.* FROM enn_check_in($1, $2, $3, $4, $5, $6::boolean, $7, $8) c';

/** The batch call's parameters: one array per report field; `now` is the latest report's clock. */
function checkInParams(rs: readonly CheckIn[]): unknown[] {
  const n = rs.length;
  const enclaves = new Array<string>(n), licenses = new Array<string>(n), seqs = new Array<number>(n), used = new Array<number>(n), allowances = new Array<number>(n);
  const alarms = new Array<boolean>(n);
  let now = 0;
  for (let k = 0; k < n; k++) {
    const r = rs[k]!;
    enclaves[k] = r.enclaveId; licenses[k] = r.licenseId; seqs[k] = r.seq; used[k] = r.used; allowances[k] = r.allowance; alarms[k] = r.alarm === true;
    if (r.now > now) now = r.now;
  }
  return [enclaves, licenses, seqs, used, allowances, alarms, now, 'enclave'];
}

/** One row of `enn_check_in` as the outcome of check-in `r`: a result, or the refusal thrown. */
function checkInOutcome(r: CheckIn, row: Record<string, unknown>): CheckInResult {
  const code = row.code as string;
  const last = num(row.last_value);
  switch (code) {
    case 'UNKNOWN': throw new EnclaveNnError('USAGE_UNKNOWN_ENCLAVE', 'Cannot accept usage report: the enclave was never provisioned');
    case 'LICENSE_MISMATCH': throw new EnclaveNnError('USAGE_INVALID', `Cannot accept usage report: the enclave was provisioned under license ${row.reason as string}`);
    case 'ALLOWANCE_OVER': throw new EnclaveNnError('USAGE_INCONSISTENT', `Cannot accept usage report: it claims an allowance of ${r.allowance}, above the ${last} ever granted`);
    case 'SEQ': throw new EnclaveNnError('USAGE_ROLLBACK', `Cannot accept usage report: sequence number ${r.seq} is not above the last accepted ${last} (replay or rollback of sealed state)`);
    case 'USED_DOWN': throw new EnclaveNnError('USAGE_ROLLBACK', `Cannot accept usage report: used count ${r.used} is below the last reported ${last} (rollback of sealed state)`);
    case 'USED_OVER': throw new EnclaveNnError('USAGE_INCONSISTENT', `Cannot accept usage report: used count ${r.used} exceeds the ${last} credits ever granted`);
  }
  const out = { granted: num(row.granted), allowance: num(row.allowance), modelId: row.model_id as string };
  if (code === 'REVOKED') return { ...out, refused: { code: 'LICENSE_REVOKED', detail: `it was revoked (${(row.reason as string | null) ?? 'no reason given'})` } };
  if (code === 'EXPIRED') return { ...out, refused: { code: 'LICENSE_EXPIRED', detail: `it expired at ${new Date(last * 1000).toISOString()}` } };
  if (code === 'NOT_YET_VALID') return { ...out, refused: { code: 'LICENSE_NOT_YET_VALID', detail: 'it is not valid yet' } };
  if (code === 'STOPPED') return { ...out, refused: { code: LICENSE_STOPPED, detail: stoppedDetail(last) } };
  return out;
}

/** Why a license under the monitor action `stop` grants nothing (the alarm's time). */
export function stoppedDetail(alarmAt: number): string {
  return `its extraction monitor alarmed at ${new Date(alarmAt * 1000).toISOString()} and the model's policy stops the license on an alarm`;
}

function licenseRow(r: Record<string, unknown>): LicenseRecord {
  return {
    id: r.id as string, modelId: r.model_id as string, customerId: r.customer_id as string,
    notBefore: num(r.not_before), notAfter: num(r.not_after), creditsTotal: num(r.credits_total),
    creditsAllocated: num(r.credits_allocated), offlineMaxInferences: num(r.offline_max_inferences),
    offlineMaxSeconds: num(r.offline_max_seconds), token: r.token as string,
    revokedAt: r.revoked_at == null ? null : num(r.revoked_at), revokedReason: (r.revoked_reason as string | null) ?? null,
    monitorAlarmAt: r.monitor_alarm_at == null ? null : num(r.monitor_alarm_at), createdAt: num(r.created_at),
  };
}


/**
 * The license store: every table access of the server, over any {@link SqlDb}.
 *
 * @example
 * ```ts
 * const store = new LicenseStore(await openPgliteDb(dir));
 * await store.migrate();
 * ```
 */
export class LicenseStore {
  readonly db: SqlDb;
  /** Check-ins received and database calls that carried them (batching, §7). */
  readonly stats = { checkIns: 0, batches: 0 };
  private readonly queue: PendingCheckIn[] = [];
  private inFlight = 0;
  constructor(db: SqlDb) { this.db = db; }

  /** Applies missing migrations under an advisory lock (safe when several servers start at once). */
  async migrate(): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(7263001)');
      await tx.query('CREATE TABLE IF NOT EXISTS schema_migrations (version int4 PRIMARY KEY, applied_at int8 NOT NULL)');
      const rows = await tx.query<{ v: unknown }>('SELECT coalesce(max(version), 0) AS v FROM schema_migrations');
      const have = num(rows[0]!.v);
      if (have > MIGRATIONS.length) throw new EnclaveNnError('STORE_SCHEMA', `Cannot open license database: its schema version ${have} is newer than this server's ${MIGRATIONS.length}`, { exitCode: 1 });
      for (let v = have; v < MIGRATIONS.length; v++) {
        for (const stmt of MIGRATIONS[v]!) await tx.query(stmt);
        await tx.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [v + 1, Math.floor(Date.now() / 1000)]);
      }
    });
  }

  /** Closes the underlying engine. */
  close(): Promise<void> { return this.db.close(); }

  // ── models and customers ────────────────────────────────────────────────────────────────

  /** Registers a model; throws `STORE_CONFLICT` if the id exists. */
  async addModel(m: ModelRecord): Promise<void> {
    const r = await this.db.query('INSERT INTO models (id, provider_pub, secrets, policy, created_at) VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING RETURNING id',
      [m.id, m.providerPub, m.secrets, JSON.stringify(m.policy), m.createdAt]);
    if (r.length === 0) throw new EnclaveNnError('STORE_CONFLICT', `Cannot register model ${m.id}: it is already registered`);
  }

  /** A model by id, or undefined. */
  async getModel(id: string): Promise<ModelRecord | undefined> {
    const [r] = await this.db.query('SELECT * FROM models WHERE id = $1', [id]);
    if (!r) return undefined;
    return { id: r.id as string, providerPub: bytes(r.provider_pub), secrets: bytes(r.secrets), policy: JSON.parse(r.policy as string) as ModelPolicy, createdAt: num(r.created_at) };
  }

  /** Model ids and policies (no secrets). */
  async listModels(): Promise<{ id: string; policy: ModelPolicy; createdAt: number }[]> {
    const rows = await this.db.query('SELECT id, policy, created_at FROM models ORDER BY id');
    return rows.map((r) => ({ id: r.id as string, policy: JSON.parse(r.policy as string) as ModelPolicy, createdAt: num(r.created_at) }));
  }

  /** Replaces a model's policy; false if the model is not registered. */
  async updateModelPolicy(id: string, policy: ModelPolicy): Promise<boolean> {
    return (await this.db.query('UPDATE models SET policy = $2 WHERE id = $1 RETURNING id', [id, JSON.stringify(policy)])).length === 1;
  }

  /** Deletes a model no license names: `'removed'`, `'unknown'`, or the count of licenses naming it. */
  async removeModel(id: string): Promise<'removed' | 'unknown' | number> {
    return this.db.transaction(async (tx) => {
      const [n] = await tx.query<{ n: unknown }>('SELECT count(*) AS n FROM licenses WHERE model_id = $1', [id]);
      if (num(n!.n) > 0) return num(n!.n);
      return (await tx.query('DELETE FROM models WHERE id = $1 RETURNING id', [id])).length === 1 ? 'removed' : 'unknown';
    });
  }

  /** Customers by id. */
  async listCustomers(): Promise<{ id: string; name: string; createdAt: number }[]> {
    const rows = await this.db.query('SELECT id, name, created_at FROM customers ORDER BY id');
    return rows.map((r) => ({ id: r.id as string, name: r.name as string, createdAt: num(r.created_at) }));
  }

  /** Adds a customer; throws `STORE_CONFLICT` if the id exists. */
  async addCustomer(c: { id: string; name: string; createdAt: number }): Promise<void> {
    const r = await this.db.query('INSERT INTO customers (id, name, created_at) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING RETURNING id', [c.id, c.name, c.createdAt]);
    if (r.length === 0) throw new EnclaveNnError('STORE_CONFLICT', `Cannot add customer ${c.id}: it exists`);
  }

  /** True if the customer exists. */
  async hasCustomer(id: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 FROM customers WHERE id = $1', [id])).length === 1;
  }

  // ── licenses ────────────────────────────────────────────────────────────────────────────

  /** Stores a newly signed license; throws `STORE_CONFLICT` if the id exists. */
  async addLicense(l: Omit<LicenseRecord, 'creditsAllocated' | 'revokedAt' | 'revokedReason' | 'monitorAlarmAt'>): Promise<void> {
    const r = await this.db.query(
      `INSERT INTO licenses (id, model_id, customer_id, not_before, not_after, credits_total, offline_max_inferences, offline_max_seconds, token, created_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT DO NOTHING RETURNING id`,
      [l.id, l.modelId, l.customerId, l.notBefore, l.notAfter, l.creditsTotal, l.offlineMaxInferences, l.offlineMaxSeconds, l.token, l.createdAt]);
    if (r.length === 0) throw new EnclaveNnError('STORE_CONFLICT', `Cannot grant license ${l.id}: the id exists`);
  }

  /** A license by id, or undefined. */
  async getLicense(id: string): Promise<LicenseRecord | undefined> {
    const [r] = await this.db.query('SELECT * FROM licenses WHERE id = $1', [id]);
    return r ? licenseRow(r) : undefined;
  }

  /** Licenses, optionally of one customer and/or model. */
  async listLicenses(f: { customerId?: string; modelId?: string } = {}): Promise<LicenseRecord[]> {
    const rows = await this.db.query('SELECT * FROM licenses WHERE ($1::text IS NULL OR customer_id = $1) AND ($2::text IS NULL OR model_id = $2) ORDER BY created_at, id',
      [f.customerId ?? null, f.modelId ?? null]);
    return rows.map(licenseRow);
  }

  /** Revokes a license (idempotent); false if it does not exist. */
  async revokeLicense(id: string, reason: string, at: number): Promise<boolean> {
    const r = await this.db.query('UPDATE licenses SET revoked_at = coalesce(revoked_at, $2), revoked_reason = coalesce(revoked_reason, $3) WHERE id = $1 RETURNING id', [id, at, reason]);
    return r.length === 1;
  }

  /** Adds credits to a license (a purchase); resolves to the new total, undefined if absent. */
  async addCredits(id: string, credits: number): Promise<number | undefined> {
    const [r] = await this.db.query('UPDATE licenses SET credits_total = credits_total + $2 WHERE id = $1 RETURNING credits_total', [id, credits]);
    return r ? num(r.credits_total) : undefined;
  }

  // ── nonces ──────────────────────────────────────────────────────────────────────────────

  /** Stores a fresh challenge nonce. */
  async putNonce(n: { nonce: Uint8Array; modelId: string; licenseId: string; expiresAt: number }): Promise<void> {
    await this.db.query('INSERT INTO nonces (nonce, model_id, license_id, expires_at) VALUES ($1,$2,$3,$4)', [n.nonce, n.modelId, n.licenseId, n.expiresAt]);
  }

  /** Takes a nonce: deletes it and returns it, so it can be used once (§4.1); undefined if unknown or used. */
  async takeNonce(nonce: Uint8Array): Promise<{ modelId: string; licenseId: string; expiresAt: number } | undefined> {
    const [r] = await this.db.query('DELETE FROM nonces WHERE nonce = $1 RETURNING model_id, license_id, expires_at', [nonce]);
    return r ? { modelId: r.model_id as string, licenseId: r.license_id as string, expiresAt: num(r.expires_at) } : undefined;
  }

  /** Deletes expired nonces. */
  async purgeNonces(now: number): Promise<void> {
    await this.db.query('DELETE FROM nonces WHERE expires_at < $1', [now]);
  }

  /** True if an enclave-chosen (air-gapped) nonce was consumed by a fulfilment that succeeded. */
  async isNonceConsumed(nonce: Uint8Array): Promise<boolean> {
    return (await this.db.query('SELECT 1 FROM consumed_nonces WHERE nonce = $1', [nonce])).length === 1;
  }

  // ── the ledger ──────────────────────────────────────────────────────────────────────────

  /**
   * Registers a newly provisioned enclave and gives it its first allowance: min(offline grace,
   * credits left), taken from the license in one guarded UPDATE. Throws `LICENSE_REVOKED` if the
   * license was revoked meanwhile, `STORE_CONFLICT` if the enclave key was provisioned before.
   * With `consumeNonce` (air-gapped fulfilment), the request's nonce is marked consumed in the
   * same transaction — only when everything else succeeds — and a second use throws
   * `PROVISION_NONCE` (replay).
   */
  async provisionEnclave(e: { id: string; licenseId: string; keyPub: Uint8Array; mrEnclave: string; now: number; consumeNonce?: Uint8Array }): Promise<CreditResult> {
    return this.db.transaction(async (tx) => {
      // A unique key: of two concurrent fulfilments of one request, the second finds the first's row.
      if (e.consumeNonce && (await tx.query('INSERT INTO consumed_nonces (nonce, at) VALUES ($1,$2) ON CONFLICT DO NOTHING RETURNING at', [e.consumeNonce, e.now])).length === 0) {
        throw new EnclaveNnError('PROVISION_NONCE', 'Cannot fulfil: this request was fulfilled before (replay)');
      }
      // The license row first (the lock order of every ledger transaction: license, then enclave rows it owns).
      const granted = await this.take(tx, e.licenseId, 0, e.now);
      const ins = await tx.query(
        'INSERT INTO enclaves (id, license_id, key_pub, mr_enclave, allowance, last_checkin, created_at) VALUES ($1,$2,$3,$4,$5,$6,$6) ON CONFLICT DO NOTHING RETURNING id',
        [e.id, e.licenseId, e.keyPub, e.mrEnclave, granted, e.now]);
      if (ins.length === 0) throw new EnclaveNnError('STORE_CONFLICT', `Cannot provision enclave ${e.id.slice(0, 16)}…: its report key was provisioned before`);
      await tx.query('INSERT INTO grants (license_id, enclave_id, seq, credits, allowance, at) VALUES ($1,$2,0,$3,$3,$4)', [e.licenseId, e.id, granted, e.now]);
      return { granted, allowance: granted };
    });
  }

  /**
   * A provisioned enclave: its license, attested key, first allowance and when it was
   * provisioned, and its last accepted sequence number (0 = never checked in); or undefined.
   */
  async getEnclave(id: string): Promise<{ licenseId: string; keyPub: Uint8Array; firstAllowance: number; createdAt: number; lastSeq: number } | undefined> {
    const [r] = await this.db.query(
      'SELECT e.license_id, e.key_pub, e.created_at, e.last_seq, g.allowance AS first_allowance FROM enclaves e JOIN grants g ON g.enclave_id = e.id AND g.seq = 0 WHERE e.id = $1', [id]);
    return r ? { licenseId: r.license_id as string, keyPub: bytes(r.key_pub), firstAllowance: num(r.first_allowance), createdAt: num(r.created_at), lastSeq: num(r.last_seq) } : undefined;
  }

  /**
   * Moves up to (offline grace − outstanding) credits from the license to an enclave, in `tx`:
   * the license row locked first, then capped by the monitor action after an alarm
   * (`enn_monitor_cap`, §5.2.1; `stop` throws `LICENSE_STOPPED`), then one `UPDATE`.
   */
  private async take(tx: SqlDb, licenseId: string, outstanding: number, now: number): Promise<number> {
    // The lock comes first, in its own statement (FOR NO KEY UPDATE: foreign-key checks of other
    // rows that reference the license still proceed, so they cannot deadlock with it): the cap's
    // sum of grants must be read after it is held (on PostgreSQL a later statement's snapshot sees
    // every grant committed before), and the allocation it reads cannot move until commit.
    const [lic] = await tx.query<{ model_id: string; monitor_alarm_at: unknown; credits_allocated: unknown }>(
      'SELECT model_id, monitor_alarm_at, credits_allocated FROM licenses WHERE id = $1 AND revoked_at IS NULL FOR NO KEY UPDATE', [licenseId]);
    if (!lic) throw new EnclaveNnError('LICENSE_REVOKED', `Cannot grant credits on license ${licenseId}: it is revoked`);
    let cap: number | null = null;
    if (lic.monitor_alarm_at != null) {
      const [c] = await tx.query<{ cap: unknown }>('SELECT enn_monitor_cap($1, $2, $3, $4) AS cap', [licenseId, lic.model_id, num(lic.monitor_alarm_at), now]);
      cap = c!.cap == null ? null : num(c!.cap);
      if (cap === -1) throw new EnclaveNnError(LICENSE_STOPPED, `Cannot grant credits on license ${licenseId}: ${stoppedDetail(num(lic.monitor_alarm_at))}`);
    }
    // The row is locked since the SELECT: the new allocation minus the one read there is exactly
    // what this transaction moved.
    const [r] = await tx.query<{ allocated: unknown }>(
      `UPDATE licenses SET credits_allocated = credits_allocated + greatest(0, least(offline_max_inferences - $2, credits_total - credits_allocated, coalesce($3::int8, credits_total)))
       WHERE id = $1 RETURNING credits_allocated AS allocated`,
      [licenseId, outstanding, cap]);
    return num(r!.allocated) - num(lic.credits_allocated);
  }



  /**
   * Records a usage report whose signature the caller verified, and tops the enclave up
   * (§5.3), atomically, in `enn_check_in`: refuses a report for another license
   * (`USAGE_INVALID`), claiming more allowance or usage than ever granted (`USAGE_INCONSISTENT`),
   * or whose sequence number or used count does not increase (`USAGE_ROLLBACK`); records the
   * usage; grants from the license unless it is revoked or outside its window (then `refused`
   * names why: nothing granted). A successful check-in's audit entry commits with it.
   *
   * Batched (§7): a check-in that finds {@link CHECK_IN_MAX_IN_FLIGHT} calls in flight waits
   * for one to return and goes with every other check-in that arrived meanwhile, as one
   * `enn_check_in_batch` call — one round trip and one commit for all, each item with the
   * semantics of a call of its own. No check-in waits when a call slot is free.
   */
  checkIn(r: CheckIn): Promise<CheckInResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ r, resolve, reject });
      this.stats.checkIns++;
      if (this.inFlight < CHECK_IN_MAX_IN_FLIGHT) this.flush();
    });
  }

  /** Sends every queued check-in as one call, then the next queue when it returns. */
  private flush(): void {
    const batch = this.queue.splice(0, CHECK_IN_MAX_BATCH);
    if (batch.length === 0) return;
    this.inFlight++;
    this.stats.batches++;
    void this.runBatch(batch).finally(() => { this.inFlight--; this.flush(); });
  }

  private async runBatch(batch: PendingCheckIn[]): Promise<void> {
    let rows: Record<string, unknown>[];
    try {
      if (batch.length === 1) {
        const r = batch[0]!.r;
        rows = await this.db.query(CHECK_IN_ONE_SQL, [r.enclaveId, r.licenseId, r.seq, r.used, r.allowance, r.alarm === true, r.now, 'enclave'], 'enn_check_in_one');
      } else {
        rows = await this.db.query(CHECK_IN_BATCH_SQL, checkInParams(batch.map((p) => p.r)), 'enn_check_in_batch');
      }
    } catch (e) {
      // The call is one transaction: nothing of it committed. Alone, a check-in gets its own
      // error; in company, each runs again alone, so one failing item cannot fail the others.
      if (batch.length === 1) { batch[0]!.reject(e); return; }
      await Promise.all(batch.map((p) => this.runBatch([p])));
      return;
    }
    const byItem = new Array<Record<string, unknown> | undefined>(batch.length);
    for (const row of rows) byItem[num(row.i) - 1] = row;
    batch.forEach((p, k) => {
      const row = byItem[k];
      // Every item answers one row; one without an answer must fail, not hang its request.
      if (!row) { p.reject(new EnclaveNnError('INTERNAL', 'Cannot check in: the database answered no row for this report')); return; }
      try { p.resolve(checkInOutcome(p.r, row)); } catch (e) { p.reject(e); }
    });
  }

  /** Usage per customer and model: credits bought, granted to enclaves, reported used. */
  async usage(f: { customerId?: string; modelId?: string } = {}): Promise<{ customerId: string; modelId: string; licenses: number; creditsTotal: number; creditsGranted: number; used: number; enclaves: number }[]> {
    const lic = await this.db.query(
      `SELECT customer_id, model_id, count(*) AS licenses, sum(credits_total) AS credits_total, sum(credits_allocated) AS credits_granted
       FROM licenses WHERE ($1::text IS NULL OR customer_id = $1) AND ($2::text IS NULL OR model_id = $2) GROUP BY 1, 2 ORDER BY 1, 2`,
      [f.customerId ?? null, f.modelId ?? null]);
    const enc = await this.db.query(
      `SELECT l.customer_id, l.model_id, count(e.id) AS enclaves, coalesce(sum(e.used), 0) AS used
       FROM enclaves e JOIN licenses l ON l.id = e.license_id GROUP BY 1, 2`);
    const key = (r: Record<string, unknown>): string => `${r.customer_id as string}\u0000${r.model_id as string}`;
    const byKey = new Map(enc.map((r) => [key(r), r]));
    return lic.map((r) => {
      const e = byKey.get(key(r));
      return {
        customerId: r.customer_id as string, modelId: r.model_id as string, licenses: num(r.licenses),
        creditsTotal: num(r.credits_total), creditsGranted: num(r.credits_granted), used: num(e?.used ?? 0), enclaves: num(e?.enclaves ?? 0),
      };
    });
  }

  /** Sum of the grants ledger of a license (equals its `creditsAllocated` when nothing double-spent). */
  async ledgerTotal(licenseId: string): Promise<number> {
    const [r] = await this.db.query('SELECT coalesce(sum(credits), 0) AS s FROM grants WHERE license_id = $1', [licenseId]);
    return num(r!.s);
  }

  // ── audit ───────────────────────────────────────────────────────────────────────────────

  /** Appends one decision to the audit log. */
  async audit(a: AuditEntry): Promise<void> {
    await this.db.query('INSERT INTO audit (at, actor, action, subject, outcome, code, reason) VALUES ($1,$2,$3,$4,$5,$6,$7)',
      [a.at, a.actor, a.action, a.subject, a.outcome, a.code, a.reason]);
  }

  /** Audit entries, newest last, optionally for one subject or one outcome. */
  async listAudit(f: { subject?: string; outcome?: 'ok' | 'refused'; limit?: number } = {}): Promise<AuditEntry[]> {
    const rows = await this.db.query(
      'SELECT * FROM (SELECT * FROM audit WHERE ($1::text IS NULL OR subject = $1) AND ($2::text IS NULL OR outcome = $2) ORDER BY id DESC LIMIT $3) t ORDER BY id',
      [f.subject ?? null, f.outcome ?? null, f.limit ?? 1000]);
    return rows.map((r) => ({ at: num(r.at), actor: r.actor as string, action: r.action as string, subject: r.subject as string, outcome: r.outcome as 'ok' | 'refused', code: r.code as string, reason: r.reason as string }));
  }
}
