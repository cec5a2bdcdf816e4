#!/usr/bin/env node
// Runs every *.test.ts under src/, examples/ and scripts/ with node:test through tsx.
// Node 20's test runner does not discover .ts files by itself, so this script lists them
// explicitly. Extra arguments narrow the run to files whose path contains any of them.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = ['src', 'examples', 'scripts'].flatMap((d) => walk(d, [])).sort()
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(2);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
// One folder for what the test files of this run may share (an empty PGlite cluster to copy:
// src/license/pglite.testkit.ts), removed when the run ends; a given $ENCLAVE_NN_TEST_CACHE is kept.
const given = process.env.ENCLAVE_NN_TEST_CACHE;
const cache = given || mkdtempSync(join(tmpdir(), 'enn-test-run-'));
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--import', 'tsx', ...files], { stdio: 'inherit', env: { ...process.env, ENCLAVE_NN_TEST_CACHE: cache } });
if (!given) rmSync(cache, { recursive: true, force: true });
process.exit(r.status ?? 1);
