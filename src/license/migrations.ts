/**
 * The one schema of the license server, as ordered migrations shared by the embedded store
 * (PGlite) and PostgreSQL (docs/license-protocol.md §7). A migration is never edited once
 * released; a change is a new entry. Times are Unix seconds (int8); credits count samples.
 */

const V1 = `
  CREATE TABLE models (
    id            text PRIMARY KEY,
    provider_pub  bytea NOT NULL,
    secrets       bytea NOT NULL,          -- AES-256-GCM under the server master key: model key ‖ signing seed
    policy        text NOT NULL,           -- JSON ModelPolicy
    created_at    int8 NOT NULL
  );
  CREATE TABLE customers (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    created_at    int8 NOT NULL
  );
  CREATE TABLE licenses (
    id                     text PRIMARY KEY,
    model_id               text NOT NULL REFERENCES models(id),
    customer_id            text NOT NULL REFERENCES customers(id),
    not_before             int8 NOT NULL,
    not_after              int8 NOT NULL,
    credits_total          int8 NOT NULL CHECK (credits_total >= 0),
    credits_allocated      int8 NOT NULL DEFAULT 0,
    offline_max_inferences int8 NOT NULL,
    offline_max_seconds    int8 NOT NULL,
    token                  text NOT NULL,
    revoked_at             int8,
    revoked_reason         text,
    created_at             int8 NOT NULL,
    CHECK (credits_allocated >= 0 AND credits_allocated <= credits_total)
  );
  CREATE TABLE nonces (
    nonce       bytea PRIMARY KEY,
    model_id    text NOT NULL,
    license_id  text NOT NULL,
    expires_at  int8 NOT NULL
  );
  CREATE TABLE consumed_nonces (
    nonce       bytea PRIMARY KEY,
    at          int8 NOT NULL
  );
  CREATE TABLE enclaves (
    id            text PRIMARY KEY,        -- hex of the attested report-signing key
    license_id    text NOT NULL REFERENCES licenses(id),
    key_pub       bytea NOT NULL,
    mr_enclave    text NOT NULL,
    allowance     int8 NOT NULL,
    used          int8 NOT NULL DEFAULT 0,
    last_seq      int8 NOT NULL DEFAULT 0,
    last_checkin  int8 NOT NULL,
    created_at    int8 NOT NULL
  );
  CREATE TABLE grants (
    id          bigserial PRIMARY KEY,
    license_id  text NOT NULL REFERENCES licenses(id),
    enclave_id  text NOT NULL REFERENCES enclaves(id),
    seq         int8 NOT NULL,
    credits     int8 NOT NULL CHECK (credits >= 0),
    allowance   int8 NOT NULL,
    at          int8 NOT NULL
  );
  CREATE TABLE usage_reports (
    enclave_id  text NOT NULL REFERENCES enclaves(id),
    seq         int8 NOT NULL,
    license_id  text NOT NULL,
    used        int8 NOT NULL,
    delta       int8 NOT NULL,
    at          int8 NOT NULL,
    PRIMARY KEY (enclave_id, seq)
  );
  CREATE TABLE audit (
    id       bigserial PRIMARY KEY,
    at       int8 NOT NULL,
    actor    text NOT NULL,
    action   text NOT NULL,
    subject  text NOT NULL,
    outcome  text NOT NULL,                -- 'ok' | 'refused'
    code     text NOT NULL,
    reason   text NOT NULL
  );
  CREATE INDEX audit_subject ON audit (subject);
  CREATE INDEX grants_license ON grants (license_id);
`;

/**
 * The check-in as one server-side function (docs/license-protocol.md §5.3, §7): one round trip
 * per top-up, and the enclave row and then the license row are locked only while it runs,
 * never across client round trips, so top-ups on one license from any number of server
 * processes serialise for microseconds. The caller has verified the report's signature.
 * Returns a code — OK (its audit entry is written here, in the same transaction); REVOKED,
 * EXPIRED, NOT_YET_VALID (usage recorded, nothing granted); or a refusal that changed nothing:
 * UNKNOWN, LICENSE_MISMATCH, ALLOWANCE_OVER, SEQ, USED_DOWN, USED_OVER — with `last_value`
 * the stored value the report contradicts.
 */
const V2_CHECK_IN = `
CREATE FUNCTION enn_check_in(p_enclave text, p_license text, p_seq int8, p_used int8, p_allowance int8, p_now int8, p_actor text)
RETURNS TABLE (code text, granted int8, allowance int8, model_id text, last_value int8, reason text)
LANGUAGE plpgsql AS $$
DECLARE
  e enclaves%ROWTYPE;
  l licenses%ROWTYPE;
  g int8 := 0;
  c text := 'OK';
BEGIN
  SELECT * INTO e FROM enclaves WHERE id = p_enclave FOR UPDATE;
  IF NOT FOUND THEN RETURN QUERY SELECT 'UNKNOWN'::text, 0::int8, 0::int8, NULL::text, 0::int8, NULL::text; RETURN; END IF;
  IF e.license_id <> p_license THEN RETURN QUERY SELECT 'LICENSE_MISMATCH'::text, 0::int8, e.allowance, NULL::text, 0::int8, e.license_id; RETURN; END IF;
  IF p_allowance > e.allowance THEN RETURN QUERY SELECT 'ALLOWANCE_OVER'::text, 0::int8, e.allowance, NULL::text, e.allowance, NULL::text; RETURN; END IF;
  IF p_seq <= e.last_seq THEN RETURN QUERY SELECT 'SEQ'::text, 0::int8, e.allowance, NULL::text, e.last_seq, NULL::text; RETURN; END IF;
  IF p_used < e.used THEN RETURN QUERY SELECT 'USED_DOWN'::text, 0::int8, e.allowance, NULL::text, e.used, NULL::text; RETURN; END IF;
  IF p_used > e.allowance THEN RETURN QUERY SELECT 'USED_OVER'::text, 0::int8, e.allowance, NULL::text, e.allowance, NULL::text; RETURN; END IF;
  SELECT * INTO l FROM licenses WHERE id = e.license_id FOR NO KEY UPDATE;
  IF l.revoked_at IS NOT NULL THEN c := 'REVOKED';
  ELSIF p_now > l.not_after THEN c := 'EXPIRED';
  ELSIF p_now < l.not_before THEN c := 'NOT_YET_VALID';
  ELSE
    g := greatest(0, least(l.offline_max_inferences - (e.allowance - p_used), l.credits_total - l.credits_allocated));
    UPDATE licenses SET credits_allocated = credits_allocated + g WHERE id = l.id;
  END IF;
  INSERT INTO usage_reports (enclave_id, seq, license_id, used, delta, at) VALUES (e.id, p_seq, e.license_id, p_used, p_used - e.used, p_now);
  UPDATE enclaves SET used = p_used, last_seq = p_seq, allowance = e.allowance + g, last_checkin = p_now WHERE id = e.id;
  INSERT INTO grants (license_id, enclave_id, seq, credits, allowance, at) VALUES (e.license_id, e.id, p_seq, g, e.allowance + g, p_now);
  IF c = 'OK' THEN
    INSERT INTO audit (at, actor, action, subject, outcome, code, reason) VALUES (p_now, p_actor, 'usage', e.license_id, 'ok', 'OK',
      format('report %s: %s used, %s credits granted%s, allowance %s', p_seq, p_used, g, CASE WHEN g = 0 THEN ' (none left on the license)' ELSE '' END, e.allowance + g));
  END IF;
  RETURN QUERY SELECT c, g, e.allowance + g, l.model_id, l.not_after, l.revoked_reason;
END
$$`;

/**
 * Several check-ins in one call (docs/license-protocol.md §7): one round trip and one commit for
 * every report that arrived while the previous call was in flight. Item i is `enn_check_in` of
 * the i-th elements, in order, so each keeps its exact semantics; a refusal of one changes
 * nothing and does not affect the others. Deadlock freedom: before any item runs, all the
 * enclave rows are locked in id order, then all their license rows in id order — the global
 * order every ledger transaction follows (enclave rows before license rows; a single check-in
 * and a provisioning take at most one of each), so two batches on two servers never wait on
 * each other in a cycle.
 */
const V3_CHECK_IN_BATCH = `
CREATE FUNCTION enn_check_in_batch(p_enclaves text[], p_licenses text[], p_seqs int8[], p_used int8[], p_allowances int8[], p_now int8, p_actor text)
RETURNS TABLE (i int4, code text, granted int8, allowance int8, model_id text, last_value int8, reason text)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM enclaves WHERE id = ANY(p_enclaves) ORDER BY id FOR UPDATE;
  PERFORM 1 FROM licenses WHERE id IN (SELECT e.license_id FROM enclaves e WHERE e.id = ANY(p_enclaves)) ORDER BY id FOR NO KEY UPDATE;
  FOR k IN 1 .. coalesce(array_length(p_enclaves, 1), 0) LOOP
    RETURN QUERY SELECT k, c.* FROM enn_check_in(p_enclaves[k], p_licenses[k], p_seqs[k], p_used[k], p_allowances[k], p_now, p_actor) c;
  END LOOP;
END
$$`;

/**
 * The extraction monitor's actions (docs/license-protocol.md §5.2.1, §7): the alarm of a license,
 * latched at the first accepted report that carries it, and what the model's policy does about
 * it. Released migrations are never edited, so `enn_check_in` and `enn_check_in_batch` are
 * dropped and created again here, the same code as migrations 2 and 3 plus the alarm.
 */
const V4_ALARM = `ALTER TABLE licenses ADD COLUMN monitor_alarm_at int8`;

/**
 * Credits license `p_license` may still be granted now under its model's monitor action: NULL =
 * no limit (no alarm, or the action `report`); -1 = none, ever (`stop`); else what `throttle:N/h`
 * leaves: N minus the credits granted since the alarm in the last 3600 s (a sliding window, so
 * no 3600 s after the alarm ever see more than N). The caller holds the license row lock, so the
 * grants it sums are final; on PostgreSQL this call's own snapshot is taken after that lock was
 * granted (a new statement), so it sees every grant committed before.
 */
const V4_MONITOR_CAP = `
CREATE FUNCTION enn_monitor_cap(p_license text, p_model text, p_alarm_at int8, p_now int8) RETURNS int8
LANGUAGE plpgsql AS $$
DECLARE
  a text;
  n int8;
BEGIN
  IF p_alarm_at IS NULL THEN RETURN NULL; END IF;
  SELECT policy::json->>'monitor' INTO a FROM models WHERE id = p_model;
  IF a = 'stop' THEN RETURN -1; END IF;
  n := substring(a from '^throttle:([0-9]+)/h$')::int8;
  IF n IS NULL THEN RETURN NULL; END IF;
  RETURN greatest(0, n - (SELECT coalesce(sum(credits), 0) FROM grants WHERE license_id = p_license AND at >= p_alarm_at AND at > p_now - 3600));
END
$$`;

/**
 * `enn_check_in` of migration 2 with `p_alarm` (the verified report's `monitor.alarm` = 1): after
 * the enclave's checks pass — so a report of an unknown enclave, another license or a replayed
 * sequence number latches nothing — the license's alarm is latched, and the grant is capped by
 * {@link V4_MONITOR_CAP}: -1 answers STOPPED (usage recorded, nothing granted, as REVOKED).
 */
const V4_CHECK_IN = `
CREATE FUNCTION enn_check_in(p_enclave text, p_license text, p_seq int8, p_used int8, p_allowance int8, p_alarm boolean, p_now int8, p_actor text)
RETURNS TABLE (code text, granted int8, allowance int8, model_id text, last_value int8, reason text)
LANGUAGE plpgsql AS $$
DECLARE
  e enclaves%ROWTYPE;
  l licenses%ROWTYPE;
  g int8 := 0;
  cap int8;
  c text := 'OK';
BEGIN
  SELECT * INTO e FROM enclaves WHERE id = p_enclave FOR UPDATE;
  IF NOT FOUND THEN RETURN QUERY SELECT 'UNKNOWN'::text, 0::int8, 0::int8, NULL::text, 0::int8, NULL::text; RETURN; END IF;
  IF e.license_id <> p_license THEN RETURN QUERY SELECT 'LICENSE_MISMATCH'::text, 0::int8, e.allowance, NULL::text, 0::int8, e.license_id; RETURN; END IF;
  IF p_allowance > e.allowance THEN RETURN QUERY SELECT 'ALLOWANCE_OVER'::text, 0::int8, e.allowance, NULL::text, e.allowance, NULL::text; RETURN; END IF;
  IF p_seq <= e.last_seq THEN RETURN QUERY SELECT 'SEQ'::text, 0::int8, e.allowance, NULL::text, e.last_seq, NULL::text; RETURN; END IF;
  IF p_used < e.used THEN RETURN QUERY SELECT 'USED_DOWN'::text, 0::int8, e.allowance, NULL::text, e.used, NULL::text; RETURN; END IF;
  IF p_used > e.allowance THEN RETURN QUERY SELECT 'USED_OVER'::text, 0::int8, e.allowance, NULL::text, e.allowance, NULL::text; RETURN; END IF;
  SELECT * INTO l FROM licenses WHERE id = e.license_id FOR NO KEY UPDATE;
  IF p_alarm AND l.monitor_alarm_at IS NULL THEN
    UPDATE licenses SET monitor_alarm_at = p_now WHERE id = l.id;
    l.monitor_alarm_at := p_now;
  END IF;
  -- Only after an alarm: the check-in of a license without one pays no more than before.
  IF l.monitor_alarm_at IS NOT NULL THEN cap := enn_monitor_cap(l.id, l.model_id, l.monitor_alarm_at, p_now); END IF;
  IF l.revoked_at IS NOT NULL THEN c := 'REVOKED';
  ELSIF p_now > l.not_after THEN c := 'EXPIRED';
  ELSIF p_now < l.not_before THEN c := 'NOT_YET_VALID';
  ELSIF cap = -1 THEN c := 'STOPPED';
  ELSE
    g := greatest(0, least(l.offline_max_inferences - (e.allowance - p_used), l.credits_total - l.credits_allocated, coalesce(cap, l.credits_total)));
    UPDATE licenses SET credits_allocated = credits_allocated + g WHERE id = l.id;
  END IF;
  INSERT INTO usage_reports (enclave_id, seq, license_id, used, delta, at) VALUES (e.id, p_seq, e.license_id, p_used, p_used - e.used, p_now);
  UPDATE enclaves SET used = p_used, last_seq = p_seq, allowance = e.allowance + g, last_checkin = p_now WHERE id = e.id;
  INSERT INTO grants (license_id, enclave_id, seq, credits, allowance, at) VALUES (e.license_id, e.id, p_seq, g, e.allowance + g, p_now);
  IF c = 'OK' THEN
    INSERT INTO audit (at, actor, action, subject, outcome, code, reason) VALUES (p_now, p_actor, 'usage', e.license_id, 'ok', 'OK',
      format('report %s: %s used, %s credits granted%s, allowance %s%s', p_seq, p_used, g, CASE WHEN g = 0 AND cap IS NULL THEN ' (none left on the license)' ELSE '' END, e.allowance + g,
        CASE WHEN cap IS NOT NULL THEN format('; throttled since the extraction alarm at %s: %s credits left this hour', l.monitor_alarm_at, cap - g) ELSE '' END));
  END IF;
  RETURN QUERY SELECT c, g, e.allowance + g, l.model_id, CASE WHEN c = 'STOPPED' THEN l.monitor_alarm_at ELSE l.not_after END, l.revoked_reason;
END
$$`;

/** `enn_check_in_batch` of migration 3 with the reports' alarms (`p_alarms`), for {@link V4_CHECK_IN}. */
const V4_CHECK_IN_BATCH = `
CREATE FUNCTION enn_check_in_batch(p_enclaves text[], p_licenses text[], p_seqs int8[], p_used int8[], p_allowances int8[], p_alarms boolean[], p_now int8, p_actor text)
RETURNS TABLE (i int4, code text, granted int8, allowance int8, model_id text, last_value int8, reason text)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM enclaves WHERE id = ANY(p_enclaves) ORDER BY id FOR UPDATE;
  PERFORM 1 FROM licenses WHERE id IN (SELECT e.license_id FROM enclaves e WHERE e.id = ANY(p_enclaves)) ORDER BY id FOR NO KEY UPDATE;
  FOR k IN 1 .. coalesce(array_length(p_enclaves, 1), 0) LOOP
    RETURN QUERY SELECT k, c.* FROM enn_check_in(p_enclaves[k], p_licenses[k], p_seqs[k], p_used[k], p_allowances[k], p_alarms[k], p_now, p_actor) c;
  END LOOP;
END
$$`;

const statements = (sql: string): string[] => sql.split(';').map((s) => s.trim()).filter((s) => s.replace(/--[^\n]*/g, '').trim());

/** Migrations in order, each a list of statements; entry i brings the schema to version i + 1. */
export const MIGRATIONS: readonly (readonly string[])[] = [
  statements(V1),
  [V2_CHECK_IN],
  [V3_CHECK_IN_BATCH],
  [
    V4_ALARM, V4_MONITOR_CAP,
    // Dropped, not kept beside the new ones: a server of schema 3 refuses to start on schema 4
    // (store.migrate), and none may check in by the old functions, which ignore the alarm.
    'DROP FUNCTION enn_check_in_batch(text[], text[], int8[], int8[], int8[], int8, text)',
    'DROP FUNCTION enn_check_in(text, text, int8, int8, int8, int8, text)',
    V4_CHECK_IN, V4_CHECK_IN_BATCH,
  ],
];
