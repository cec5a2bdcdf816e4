#!/usr/bin/env node
// Runs every *.test.ts under src/, examples/ and scripts/ with node:test through tsx.
// Node 20's test runner does not discover .ts files by itself, so this script lists them
// explicitly. Extra arguments narrow the run to files whose path contains any of them.
import { readdirSync, statSync } from 'node:fs';
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
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--import', 'tsx', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
