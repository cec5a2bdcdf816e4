/**
 * The PostgreSQL store engine: a `pg` Pool (docs/license-protocol.md §7). Several server
 * processes may share one database: the ledger's guarded UPDATEs and row locks keep credit
 * accounting exact.
 */
import pg from 'pg';
import type { SqlDb } from './store.ts';

/** The `application_name` of the license server's PostgreSQL connections. */
export const APPLICATION_NAME = 'enclave-nn-license-server';

/** A query; a named one is parsed and planned once per connection, later calls send Bind/Execute only. */
function statement(text: string, values: unknown[], name: string | undefined): pg.QueryConfig {
  return name === undefined ? { text, values } : { name, text, values };
}

/**
 * Connects to PostgreSQL at `url` (`postgres://user@host:port/db`).
 *
 * @example
 * ```ts
 * const store = new LicenseStore(await openPgDb(process.env.ENCLAVE_NN_TEST_PG!));
 * ```
 */
export async function openPgDb(url: string, options: { max?: number } = {}): Promise<SqlDb> {
  // application_name: the server's backends can be told apart in pg_stat_activity (bench/license-load.ts counts their CPU).
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, application_name: APPLICATION_NAME });
  // A failed idle client must not crash the server process; the next query reconnects.
  pool.on('error', () => {});
  const client = await pool.connect(); // fail fast on a bad URL
  client.release();
  return {
    async query<R>(sql: string, params: unknown[] = [], name?: string): Promise<R[]> {
      return (await pool.query(statement(sql, params, name))).rows as R[];
    },
    async transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        const tx: SqlDb = {
          query: async <R>(sql: string, params: unknown[] = [], name?: string) => (await c.query(statement(sql, params, name))).rows as R[],
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
