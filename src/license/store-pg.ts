/**
 * The PostgreSQL store engine: a `pg` Pool (docs/license-protocol.md §7). Several server
 * processes may share one database: the ledger's guarded UPDATEs and row locks keep credit
 * accounting exact.
 */
import pg from 'pg';
import type { SqlDb } from './store.ts';

/**
 * Connects to PostgreSQL at `url` (`postgres://user@host:port/db`).
 *
 * @example
 * ```ts
 * const store = new LicenseStore(await openPgDb(process.env.ENCLAVE_NN_TEST_PG!));
 * ```
 */
export async function openPgDb(url: string, options: { max?: number } = {}): Promise<SqlDb> {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
  // A failed idle client must not crash the server process; the next query reconnects.
  pool.on('error', () => {});
  const client = await pool.connect(); // fail fast on a bad URL
  client.release();
  return {
    async query<R>(sql: string, params: unknown[] = []): Promise<R[]> {
      return (await pool.query(sql, params)).rows as R[];
    },
    async transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        const tx: SqlDb = {
          query: async <R>(sql: string, params: unknown[] = []) => (await c.query(sql, params)).rows as R[],
          transaction: () => Promise.reject(new Error('nested transactions are not supported')),
          close: async () => {},
        };
        const out = await fn(tx);
        await c.query('COMMIT');
        return out;
      } catch (e) {
        await c.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        c.release();
      }
    },
    close: () => pool.end(),
  };
}
