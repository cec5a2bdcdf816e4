/**
 * Opens a license store by location (docs/license-protocol.md §7): the engines as a registry
 * keyed by URL scheme — `postgres://` / `postgresql://` for PostgreSQL, anything else is a
 * directory for the embedded PGlite store.
 */
import { EnclaveNnError } from '../errors.ts';
import { LicenseStore, type SqlDb } from './store.ts';

const ENGINES: Record<string, (location: string) => Promise<SqlDb>> = {
  postgres: async (url) => (await import('./store-pg.ts')).openPgDb(url),
  postgresql: async (url) => (await import('./store-pg.ts')).openPgDb(url),
  pglite: async (dir) => (await import('./store-pglite.ts')).openPgliteDb(dir),
};

/**
 * Opens and migrates the store at `location`. Returns the store and a label for logs (the
 * PostgreSQL URL without its password).
 *
 * @example
 * ```ts
 * const { store } = await openStore('postgres://enn@127.0.0.1/licenses');
 * const { store: embedded } = await openStore('./license-data/db');
 * ```
 */
export async function openStore(location: string): Promise<{ store: LicenseStore; label: string }> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(location)?.[1]?.toLowerCase();
  const engine = scheme ? ENGINES[scheme] : ENGINES.pglite!;
  if (!engine) throw new EnclaveNnError('USAGE', `Cannot open license store ${location}: unknown scheme '${scheme}' (known: postgres://, postgresql://, or a directory)`);
  let db: SqlDb;
  try {
    db = await engine(location);
  } catch (cause) {
    if (cause instanceof EnclaveNnError) throw cause;
    throw new EnclaveNnError('STORE_OPEN', `Cannot open license store ${redact(location)}: ${describeStoreError(cause)}`, { cause, exitCode: 1 });
  }
  const store = new LicenseStore(db);
  await store.migrate();
  return { store, label: scheme ? `postgres ${redact(location)}` : `embedded (PGlite) ${location}` };
}

/**
 * One line a person can act on for an error of a store engine: PGlite's WASM aborts
 * ("Aborted(). Build with -sASSERTIONS…") and failed starts, PostgreSQL connection errors
 * (also when several addresses failed at once), and errors without a message.
 *
 * @example
 * ```ts
 * log(`license-server: the store failed: ${describeStoreError(e)}`);
 * ```
 */
export function describeStoreError(e: unknown): string {
  const err = (typeof e === 'object' && e !== null ? e : {}) as { message?: unknown; code?: unknown; errors?: unknown; address?: unknown; port?: unknown; name?: unknown };
  const msg = typeof err.message === 'string' ? err.message.split('\n')[0]!.trim() : '';
  if (/Aborted\(|failed to initiali[sz]e/i.test(msg)) {
    return 'the embedded database engine (PGlite) aborted: its directory is damaged, was written by another PGlite version, or the disk is full; restore it from a backup, or move it aside to start with an empty database';
  }
  if (Array.isArray(err.errors) && err.errors.length > 0) {
    return `${describeStoreError(err.errors[0])}${err.errors.length > 1 ? ` (and ${err.errors.length - 1} more addresses failed)` : ''}`;
  }
  if (err.code === 'ECONNREFUSED') return `no PostgreSQL server accepts connections at ${String(err.address ?? '?')}:${String(err.port ?? '?')} (connection refused): start it, or check host and port in --db`;
  if (msg && msg !== 'undefined') return typeof err.code === 'string' && !msg.includes(err.code) ? `${msg} (${err.code})` : msg;
  const what = typeof err.name === 'string' ? err.name : typeof e;
  return `the store failed with ${what}${typeof err.code === 'string' ? ` ${err.code}` : ''} and no message (run with ENCLAVE_NN_DEBUG=1 for its stack)`;
}

function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+):[^@]*@/, '$1:***@');
}
