/**
 * scripts/run-tests.mjs's watchdog, run as `npm test` runs it, on folders of small test files: a
 * file that never exits is described, killed and run once more; the run passes only when that
 * rerun passes and nothing else failed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './dist.testkit.ts';

const PASSES = `import { test } from 'node:test';\ntest('passes', () => {});\n`;
// Passes its test, then keeps its process alive: for ever, or only while no marker file exists.
const LINGERS = `import { test } from 'node:test';\ntest('passes, then lingers', () => {});\nsetInterval(() => {}, 1000);\n`;
const LINGERS_ONCE = `import { test } from 'node:test';\nimport { existsSync, writeFileSync } from 'node:fs';\n`
  + `test('passes, then lingers the first time', () => {});\nif (!existsSync('marker')) { writeFileSync('marker', ''); setInterval(() => {}, 1000); }\n`;
const FAILS = `import { test } from 'node:test';\ntest('fails', () => { throw new Error('no'); });\n`;

/** Runs scripts/run-tests.mjs in a new folder holding `files` under src/. */
async function runIn(files: Record<string, string>, after?: (dir: string) => void): Promise<{ status: number | null; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'enn-run-tests-'));
  try {
    mkdirSync(join(dir, 'src'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'src', name), text);
    // Without NODE_TEST_CONTEXT: node:test would take the inner run for a nested one and skip it.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const child = spawn(process.execPath, [join(REPO, 'scripts/run-tests.mjs')], {
      cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000, env: { ...env, TEST_FILE_LIMIT_S: '6' },
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    const status = await new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    after?.(dir);
    return { status, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The three runs mostly wait for the limit: they run side by side.
test('the watchdog', { concurrency: true }, async (t) => {
  await Promise.all([
    t.test('a file that lingers once is described, killed, rerun, and the run passes', async () => {
      const r = await runIn({ 'a.test.ts': PASSES, 'b.test.ts': LINGERS_ONCE });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /run-tests: src\/b\.test\.ts still running after \d+ s \(limit TEST_FILE_LIMIT_S=6\)/);
      assert.match(r.stderr, /threads: .*do_epoll_wait/, 'the wait channels of its threads are printed');
      assert.match(r.stderr, /1 file\(s\) hung and were killed: src\/b\.test\.ts; running it once more/);
      assert.match(r.stderr, /the rerun of the killed file\(s\) passed/);
    }),
    t.test('a file that lingers every time fails the run, after one rerun', async () => {
      const r = await runIn({ 'a.test.ts': PASSES, 'b.test.ts': LINGERS });
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr.match(/still running after/g)?.length, 2, r.stderr);
      assert.match(r.stderr, /the rerun of the killed file\(s\) failed/);
    }),
    t.test('a failing test is not excused by a rerun of a hung file', async () => {
      const r = await runIn({ 'a.test.ts': FAILS, 'b.test.ts': LINGERS_ONCE });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /the rerun of the killed file\(s\) passed; other files failed in the first run: src\/a\.test\.ts/);
    }),
  ]);
});

// Writes a folder into the temporary directory, leaves it there, and records where it was.
const LEAKS = `import { test } from 'node:test';\nimport { mkdtempSync, writeFileSync } from 'node:fs';\nimport { tmpdir } from 'node:os';\nimport { join } from 'node:path';\n`
  + `test('leaves a temporary folder behind', () => { const d = mkdtempSync(join(tmpdir(), 'leak-')); writeFileSync(join(d, 'x'), 'x'); writeFileSync('leaked', d); });\n`;

test('what a test file leaves in its temporary directory is removed when the run ends', async () => {
  let leaked = '';
  const r = await runIn({ 'a.test.ts': LEAKS }, (dir) => { leaked = readFileSync(join(dir, 'leaked'), 'utf8'); });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(leaked.startsWith(tmpdir()) && leaked !== tmpdir(), `the folder was made under the run's own folder: ${leaked}`);
  assert.equal(existsSync(leaked), false, `${leaked} is gone after the run`);
});
