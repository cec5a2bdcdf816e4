/**
 * The one schema of the license server, as ordered migrations shared by the embedded store
 * (PGlite) and PostgreSQL (docs/license-protocol.md §7). A migration is never edited once
 * released; a change is a new entry. Times are Unix seconds (int8); credits count samples.
 */

/** Migrations in order; entry i brings the schema to version i + 1. */
export const MIGRATIONS: readonly string[] = [
  `
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
  `,
];
