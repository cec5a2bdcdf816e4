/**
 * Fresh embedded (PGlite) license databases for tests, without paying PGlite's initdb each time
 * (~4 s of CPU per new cluster, ~2 s in memory). The first call of a test run creates one empty
 * cluster with PGlite itself; every call copies it into a new directory, which the test then
 * opens like any data directory (the store's migrations still run on it). The cluster is shared
 * through `$ENCLAVE_NN_TEST_CACHE` (a folder `scripts/run-tests.mjs` makes for one run and
 * removes after it), else kept for this process only.
 */
import { cpSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';

let template: Promise<string> | undefined;

/** An empty PGlite cluster made once per run (atomically: made aside, then renamed into place). */
function pgliteTemplate(): Promise<string> {
  template ??= (async () => {
    const root = process.env.ENCLAVE_NN_TEST_CACHE || mkdtempSync(join(tmpdir(), 'enn-test-cache-'));
    const cluster = join(root, 'pglite-cluster');
    if (existsSync(join(cluster, 'PG_VERSION'))) return cluster;
    const aside = mkdtempSync(join(root, 'pglite-cluster.tmp-'));
    const pg = new PGlite(join(aside, 'db'));
    await pg.waitReady;
    await pg.close();
    try {
      renameSync(join(aside, 'db'), cluster);
    } catch (e) {
      // Another test process of this run got there first: use its cluster.
      if (!existsSync(join(cluster, 'PG_VERSION'))) throw e;
    } finally {
      rmSync(aside, { recursive: true, force: true });
    }
    return cluster;
  })();
  return template;
}

/** A new directory holding an empty PGlite cluster, for `openPgliteDb(dir)` or `license-server --db dir`. */
export async function freshPgliteDir(): Promise<string> {
  const cluster = await pgliteTemplate();
  const dir = join(mkdtempSync(join(tmpdir(), 'enn-pglite-')), 'db');
  cpSync(cluster, dir, { recursive: true });
  return dir;
}
