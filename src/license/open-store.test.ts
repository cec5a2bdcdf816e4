// Store engine errors become messages a person can act on (issue 11 item 6): a damaged embedded
// database (PGlite aborts with "Aborted(). Build with -sASSERTIONS…") and a refused PostgreSQL port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isErrorCode } from '../errors.ts';
import { describeStoreError, openStore } from './open-store.ts';

test('a damaged embedded database is refused with what to do, not "Aborted(). Build with -sASSERTIONS"', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'enn-damaged-')), 'db');
  await (await openStore(dir)).store.close();
  truncateSync(join(dir, 'global', 'pg_control'), 100);
  await assert.rejects(openStore(dir), (e: Error) => isErrorCode(e, 'STORE_OPEN')
    && new RegExp(`^Cannot open license store ${dir}: the embedded database engine \\(PGlite\\) aborted: its directory is damaged, .* restore it from a backup, or move it aside`).test(e.message)
    && !/ASSERTIONS/.test(e.message));
});

test('a refused PostgreSQL connection names the address; an error without a message says so instead of "undefined"', async () => {
  await assert.rejects(openStore('postgres://nobody@127.0.0.1:1/x'), (e: Error) => isErrorCode(e, 'STORE_OPEN') && /no PostgreSQL server accepts connections at 127\.0\.0\.1:1 \(connection refused\)/.test(e.message));
  assert.equal(describeStoreError(undefined), 'the store failed with undefined and no message (run with ENCLAVE_NN_DEBUG=1 for its stack)');
  assert.equal(describeStoreError(Object.assign(new Error('undefined'), { name: 'TypeError' })), 'the store failed with TypeError and no message (run with ENCLAVE_NN_DEBUG=1 for its stack)');
  const inner = Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED', address: '::1', port: 5432 });
  assert.match(describeStoreError(new AggregateError([inner, new Error('b')], '')), /at ::1:5432 \(connection refused\).*\(and 1 more addresses failed\)/);
});
