/**
 * The embedded store engine: PGlite (PostgreSQL compiled to WASM) in a data directory — zero
 * setup, the same SQL as PostgreSQL (docs/license-protocol.md §7). One process at a time:
 * several server processes need {@link openPgDb}.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnclaveNnError } from '../errors.ts';
import { PGlite, type PGliteOptions, type Transaction } from '@electric-sql/pglite';
import type { SqlDb } from './store.ts';

/**
 * A fresh PGlite database costs an `initdb` (two WASM instances and PostgreSQL's bootstrap:
 * 2.5–4 s on a loaded 2-core machine) where loading the same empty data directory from a tar
 * takes 0.6–1 s. `npm run build` writes that tar ({@link writePgliteTemplate}) for the installed
 * PGlite version; without it (sources without a build) a new database runs initdb.
 */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', ...(import.meta.url.endsWith('.ts') ? [] : ['..']));
const PGLITE_VERSION = (JSON.parse(readFileSync(join(dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')), '..', 'package.json'), 'utf8')) as { version: string }).version;

/** Where the empty-database template of the installed PGlite version lives (`dist/`). */
export function pgliteTemplatePath(): string {
  return join(PACKAGE_ROOT, 'dist', `pglite-${PGLITE_VERSION}-empty.tar.gz`);
}

/** Writes the empty-database template ({@link pgliteTemplatePath}): one initdb, dumped as a gzipped tar. */
export async function writePgliteTemplate(path = pgliteTemplatePath()): Promise<string> {
  const pg = new PGlite();
  try {
    await pg.waitReady;
    const tar = new Uint8Array(await (await pg.dumpDataDir('gzip')).arrayBuffer());
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.${process.pid}.tmp`, tar);
    renameSync(`${path}.${process.pid}.tmp`, path); // never a half-written template
  } finally {
    await pg.close();
  }
  return path;
}

/** PGlite options for `dir`: a new database starts from the template when there is one. */
function startOptions(dir: string | undefined): PGliteOptions {
  if (dir !== undefined && existsSync(join(dir, 'PG_VERSION'))) return {};
  const template = pgliteTemplatePath();
  return existsSync(template) ? { loadDataDir: new Blob([readFileSync(template)]) } : {};
}

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
  const pg = new PGlite(dir, startOptions(dir));
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
