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
    throw new EnclaveNnError('STORE_OPEN', `Cannot open license store ${redact(location)}: ${(cause as Error).message}`, { cause, exitCode: 1 });
  }
  const store = new LicenseStore(db);
  await store.migrate();
  return { store, label: scheme ? `postgres ${redact(location)}` : `embedded (PGlite) ${location}` };
}

function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+):[^@]*@/, '$1:***@');
}
