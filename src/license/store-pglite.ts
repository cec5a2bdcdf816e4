/**
 * The embedded store engine: PGlite (PostgreSQL compiled to WASM) in a data directory — zero
 * setup, the same SQL as PostgreSQL (docs/license-protocol.md §7). One process at a time:
 * several server processes need {@link openPgDb}.
 */
import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { SqlDb } from './store.ts';

function wrap(q: PGlite | Transaction): Pick<SqlDb, 'query'> {
  return {
    async query<R>(sql: string, params: unknown[] = []): Promise<R[]> {
      return (await q.query<R>(sql, params)).rows;
    },
  };
}

/**
 * Opens (creating if needed) an embedded database in `dir`, or in memory when `dir` is undefined.
 *
 * @example
 * ```ts
 * const store = new LicenseStore(await openPgliteDb('./license-data/db'));
 * ```
 */
export async function openPgliteDb(dir?: string): Promise<SqlDb> {
  if (dir !== undefined) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pg = new PGlite(dir);
  await pg.waitReady;
  return {
    ...wrap(pg),
    // PGlite runs one transaction at a time (it holds a mutex), so FOR UPDATE never waits here.
    transaction: <T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> =>
      pg.transaction(async (t) => fn({ ...wrap(t), transaction: () => Promise.reject(new Error('nested transactions are not supported')), close: async () => {} })),
    close: () => pg.close(),
  };
}
