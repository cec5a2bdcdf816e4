import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isErrorCode } from '../errors.ts';
import { licenseServerSuite } from './conformance.testkit.ts';
import { licenseHardeningSuite } from './hardening.testkit.ts';
import { openPgliteDb } from './store-pglite.ts';

licenseServerSuite('license server on PGlite (embedded)', () => openPgliteDb(), false);
licenseHardeningSuite('license server on PGlite (embedded)', () => openPgliteDb(), false);

test('one process per embedded database: a second open of the directory is refused while the first is open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enn-pglite-lock-'));
  const db = await openPgliteDb(dir);
  try {
    await assert.rejects(openPgliteDb(dir), (e) => isErrorCode(e, 'STORE_LOCKED') && /uses it/.test((e as Error).message));
  } finally {
    await db.close();
  }
  await (await openPgliteDb(dir)).close(); // released on close
});
