import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isErrorCode } from '../errors.ts';
import { licenseServerSuite } from './conformance.testkit.ts';
import { licenseHardeningSuite } from './hardening.testkit.ts';
import { freshPgliteDir } from './pglite.testkit.ts';
import { openPgliteDb } from './store-pglite.ts';

const freshDb = async () => openPgliteDb(await freshPgliteDir());
licenseServerSuite('license server on PGlite (embedded)', freshDb, false);
licenseHardeningSuite('license server on PGlite (embedded)', freshDb, false);

test('one process per embedded database (a new directory: PGlite makes the cluster): a second open is refused while the first is open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enn-pglite-lock-'));
  const db = await openPgliteDb(dir);
  try {
    await assert.rejects(openPgliteDb(dir), (e) => isErrorCode(e, 'STORE_LOCKED') && /uses it/.test((e as Error).message));
  } finally {
    await db.close();
  }
  await (await openPgliteDb(dir)).close(); // released on close
});
