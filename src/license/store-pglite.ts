/**
 * The embedded store engine: PGlite (PostgreSQL compiled to WASM) in a data directory — zero
 * setup, the same SQL as PostgreSQL (docs/license-protocol.md §7). One process at a time:
 * several server processes need {@link openPgDb}.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnclaveNnError } from '../errors.ts';
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
  let unlock = (): void => {};
  if (dir !== undefined) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    unlock = lockDir(dir);
  }
  const pg = new PGlite(dir);
  try {
    await pg.waitReady;
  } catch (e) {
    unlock();
    throw e;
  }
  return {
    ...wrap(pg),
    // PGlite runs one transaction at a time (it holds a mutex), so FOR UPDATE never waits here.
    transaction: <T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> =>
      pg.transaction(async (t) => fn({ ...wrap(t), transaction: () => Promise.reject(new Error('nested transactions are not supported')), close: async () => {} })),
    close: async () => { try { await pg.close(); } finally { unlock(); } },
  };
}

/**
 * One process per embedded database: PGlite has no locking of its own, and two processes on
 * one directory would corrupt it. A lock file holds the owner's pid; a stale one (its process
 * is gone) is taken over.
 */
function lockDir(dir: string): () => void {
  const path = join(dir, 'enclave-nn.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => { try { unlinkSync(path); } catch { /* already gone */ } };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(path, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && (pid === process.pid || alive(pid))) {
        throw new EnclaveNnError('STORE_LOCKED', `Cannot open the embedded database ${dir}: process ${pid} uses it (one process per embedded database; several servers need --db postgres://…)`);
      }
      unlinkSync(path); // stale: its process is gone
    }
  }
  throw new EnclaveNnError('STORE_LOCKED', `Cannot lock the embedded database ${dir}`);
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}
