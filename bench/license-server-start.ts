// License server start-up (a benchmark, not a test): spawn → "listening on" for a new data
// directory (first start) and for the same directory again (restart), as the CLI from the
// sources (tsx) and compiled (dist/, ENCLAVE_NN_DIST=1), with the phases the server reports.
//   npx tsx bench/license-server-start.ts [--runs 5]
// Needs dist/ (npm run build) for the compiled rows and the database template. Run it on a
// quiet machine: the numbers are medians of wall time.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { middleValue } from '../src/report/stats.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(values.runs);
const BIN = new URL('../bin/enclave-nn.js', import.meta.url).pathname;

/** Starts a server on `data`, resolves once it prints "listening", then stops it. */
function startOnce(data: string, dist: boolean): Promise<{ ms: number; phases: string }> {
  const t0 = performance.now();
  const env: NodeJS.ProcessEnv = { ...process.env, ENCLAVE_NN_HOME: join(data, '..', 'home') };
  if (dist) env.ENCLAVE_NN_DIST = '1';
  else delete env.ENCLAVE_NN_DIST;
  const p = spawn(process.execPath, [BIN, 'license-server', '--data', data, '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (!/listening on/.test(out)) return;
      const ms = performance.now() - t0;
      p.once('exit', () => resolve({ ms, phases: /\(modules [^)]*\)/.exec(err)?.[0] ?? '' }));
      setTimeout(() => p.kill('SIGTERM'), 200); // let the phase line arrive
    });
    p.once('exit', (code) => { if (!/listening on/.test(out)) reject(new Error(`license-server exited ${code}: ${err}`)); });
  });
}

console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const dist of [false, true]) {
  const first: number[] = [];
  const again: number[] = [];
  let phases = '';
  for (let i = 0; i < RUNS; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'enn-start-'));
    try {
      first.push((await startOnce(join(dir, 'data'), dist)).ms);
      const r = await startOnce(join(dir, 'data'), dist);
      again.push(r.ms);
      phases = r.phases;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`${dist ? 'dist (plain node)' : 'sources (tsx)    '}  first start ${middleValue(first).toFixed(0)} ms, restart ${middleValue(again).toFixed(0)} ms (medians of ${RUNS}; last restart ${phases})`);
}
console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
