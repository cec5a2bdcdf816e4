#!/usr/bin/env node
// Runs every *.test.ts under src/, examples/ and scripts/ with node:test through tsx.
// Node 20's test runner does not discover .ts files by itself, so this script lists them
// explicitly. Extra arguments narrow the run to files whose path contains any of them.
//
// A watchdog guards the run (docs/decisions.md: "A hung test file is killed, diagnosed and rerun
// once"). Node 20 waits for a test file's process for ever: a file that never exits (a leaked
// handle, a deadlock at start-up) would hold the whole run until CI's own limit. So a test-file
// process alive longer than TEST_FILE_LIMIT_S (420 s; the slowest file takes ≈ 40 s) is
// described (its threads' kernel wait channels, its open descriptors, its child processes) and
// killed with its children; the runner then reports that file as failed. Files killed this way,
// and only those, run once more at the end: the run passes only if no other file failed and the
// second run passes, and the killing is printed either way. A single test is limited to
// TEST_TIMEOUT_MS (300 s) by node:test itself.
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

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
const fileLimitMs = 1000 * Number(process.env.TEST_FILE_LIMIT_S ?? 420);
const testTimeoutMs = Number(process.env.TEST_TIMEOUT_MS ?? 300_000);
// tsx by file URL, so the run works from any working directory (scripts/run-tests.test.ts runs it
// on a folder of its own).
const tsx = import.meta.resolve('tsx');
const eventsReporter = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'test-events.mjs')).href;
// One folder for what the test files of this run may share (an empty PGlite cluster to copy:
// src/license/pglite.testkit.ts), removed when the run ends; a given $ENCLAVE_NN_TEST_CACHE is kept.
const given = process.env.ENCLAVE_NN_TEST_CACHE;
const cache = given || mkdtempSync(join(tmpdir(), 'enn-test-run-'));
const scratch = mkdtempSync(join(tmpdir(), 'enn-test-events-'));
// Every test file's temporary folders (and its children's: enclaves get TMPDIR too) go into one
// folder per run, removed when the run ends: a test that forgets its own clean-up (or is killed
// before it) cannot fill the disk. Before this, copied PGlite clusters (39 MB each) and enclave
// homes left ≈ 2 GB behind per run, and a full /tmp then failed tests with ENOSPC.
const runTmp = mkdtempSync(join(tmpdir(), 'enn-test-tmp-'));
const say = (line) => process.stderr.write(`run-tests: ${line}\n`);

const first = await runOnce(files, 'all');
let status = first.status;
if (first.killed.size > 0 && !first.stalled) {
  const others = [...first.failedFiles].filter((f) => !first.killed.has(f)).map((f) => relative(process.cwd(), f));
  const again = [...first.killed].map((f) => relative(process.cwd(), f));
  say(`${again.length} file(s) hung and were killed: ${again.join(', ')}; running ${again.length === 1 ? 'it' : 'them'} once more`);
  const second = await runOnce(again, 'rerun');
  say(`the rerun of the killed file(s) ${second.status === 0 ? 'passed' : 'failed'}${others.length ? `; other files failed in the first run: ${others.join(', ')}` : ''}`);
  status = others.length === 0 && second.status === 0 ? 0 : 1;
}
if (!given) rmSync(cache, { recursive: true, force: true });
rmSync(scratch, { recursive: true, force: true });
rmSync(runTmp, { recursive: true, force: true });
process.exit(status);

/**
 * One node:test run over `list` under the watchdog. Resolves with the runner's exit status, the
 * files the watchdog killed, the files with a failed test (from test-events.mjs), and whether the
 * runner itself stalled (then everything was killed).
 */
function runOnce(list, label) {
  const events = join(scratch, `${label}.jsonl`);
  const args = ['--test', `--test-concurrency=${concurrency}`, `--test-timeout=${testTimeoutMs}`, '--import', tsx,
    '--test-reporter=tap', '--test-reporter-destination=stdout', `--test-reporter=${eventsReporter}`, `--test-reporter-destination=${events}`, ...list];
  const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, ENCLAVE_NN_TEST_CACHE: cache, TMPDIR: runTmp } });
  const killed = new Set();
  let stalled = false;
  const seen = new Map(); // pid of a test-file process → when the watchdog first saw it
  let idleSince;
  // /proc is Linux's; elsewhere the run goes without the watchdog.
  const timer = existsSync('/proc/self/stat') ? setInterval(() => {
    const table = processTable();
    const kids = [...table.values()].filter((p) => p.ppid === child.pid);
    const now = Date.now();
    for (const pid of seen.keys()) if (!table.has(pid)) seen.delete(pid);
    for (const k of kids) {
      if (!seen.has(k.pid)) seen.set(k.pid, now);
      if (now - seen.get(k.pid) < fileLimitMs) continue;
      const file = list.find((f) => k.cmd.includes(f)) ?? k.cmd;
      if (killed.has(resolve(file))) continue;
      say(`${file} still running after ${Math.round((now - seen.get(k.pid)) / 1000)} s (limit TEST_FILE_LIMIT_S=${fileLimitMs / 1000}); its processes:`);
      describeTree(table, k.pid);
      killTree(table, k.pid);
      killed.add(resolve(file));
    }
    // A runner with no test-file process for 120 s is stuck itself (it starts the next file at once).
    if (kids.length > 0) idleSince = undefined;
    else if ((idleSince ??= now) < now - 120_000) {
      say('the test runner has run no test file for 120 s and has not exited; its processes:');
      describeTree(table, child.pid);
      stalled = true;
      killTree(table, child.pid);
    }
  }, 2000) : undefined;
  return new Promise((done) => {
    child.on('exit', (code, signal) => {
      if (timer) clearInterval(timer);
      const failedFiles = new Set();
      if (existsSync(events)) {
        for (const line of readFileSync(events, 'utf8').split('\n')) {
          if (line) { const e = JSON.parse(line); if (e.file) failedFiles.add(resolve(e.file)); }
        }
      }
      done({ status: code ?? (signal ? 1 : 0), killed, failedFiles, stalled });
    });
  });
}

/** Every process's parent, state and command line, by pid, from /proc. */
function processTable() {
  const table = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      table.set(Number(name), { pid: Number(name), state: rest[0], ppid: Number(rest[1]), cmd });
    } catch { /* the process ended while we looked */ }
  }
  return table;
}

function descendants(table, pid) {
  const out = [];
  for (const p of table.values()) if (p.ppid === pid) out.push(p.pid, ...descendants(table, p.pid));
  return out;
}

/**
 * What a stuck process is waiting on: per process its state and command, its threads' kernel wait
 * channels (futex_wait: a lock or Atomics.wait; pipe_write: output nobody reads; ep_poll: an idle
 * event loop kept alive by a handle) and its open descriptors by kind.
 */
function describeTree(table, pid) {
  for (const p of [pid, ...descendants(table, pid)]) {
    const info = table.get(p);
    if (!info) continue;
    const threads = new Map();
    try {
      for (const t of readdirSync(`/proc/${p}/task`)) {
        let comm = '?', wchan = '?';
        try { comm = readFileSync(`/proc/${p}/task/${t}/comm`, 'utf8').trim(); } catch { /* gone */ }
        try { wchan = readFileSync(`/proc/${p}/task/${t}/wchan`, 'utf8').trim() || '-'; } catch { /* gone */ }
        const key = `${comm}:${wchan}`;
        threads.set(key, (threads.get(key) ?? 0) + 1);
      }
    } catch { /* gone */ }
    const fds = new Map();
    try {
      for (const fd of readdirSync(`/proc/${p}/fd`)) {
        let target = '?';
        try { target = readlinkSync(`/proc/${p}/fd/${fd}`).replace(/:\[\d+\]$/, ''); } catch { /* gone */ }
        fds.set(target, (fds.get(target) ?? 0) + 1);
      }
    } catch { /* gone */ }
    const list = (m) => [...m].map(([k, n]) => n > 1 ? `${k}×${n}` : k).join(', ');
    say(`  pid ${p} (state ${info.state}) ${info.cmd.slice(0, 300)}`);
    say(`    threads: ${list(threads)}`);
    say(`    descriptors: ${list(fds).slice(0, 600)}`);
  }
}

function killTree(table, pid) {
  for (const p of [...descendants(table, pid).reverse(), pid]) {
    try { process.kill(p, 'SIGKILL'); } catch { /* already gone */ }
  }
}
