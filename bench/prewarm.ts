// The warm start (issue 14, item 3; a benchmark, not a test): how long `Session.create` makes a
// user wait for a ready enclave with and without a prewarmed one (`Session.prewarm`), on a small
// test model's tail (INSECURE sim platform, dev key). Alternating cold and warm, medians.
//   npx tsx bench/prewarm.ts [--runs 9] [--boot-ms 1500]
// --boot-ms is the time the prewarmed enclave gets before the session is created (the user's own
// work meanwhile: reading the bundle, loading the head). Run it on a quiet machine.
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { mlpModel } from '../src/onnx/models.testkit.ts';
import { Session } from '../src/runtime/session.ts';
import { bundleOfSplit, everySplit, useTempEnclaveHome } from '../src/runtime/support.testkit.ts';
import { middleValue } from '../src/report/stats.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '9' }, 'boot-ms': { type: 'string', default: '1500' } } });
const RUNS = Number(values.runs);
const BOOT_MS = Number(values['boot-ms']);
const home = useTempEnclaveHome();
const quiet = { onStderr: () => undefined };

const { splits } = await everySplit(mlpModel());
const { bytes, providerKey } = bundleOfSplit(splits[1]!);
const keySource = { kind: 'insecure-dev-key' as const, providerKey };

/** Wall time of Session.create → ready (and one FORWARD's worth of status), with or without a pool. */
async function once(warm: boolean): Promise<number> {
  const pool = warm ? Session.prewarm({ ...quiet, platform: 'sim' }) : undefined;
  if (pool) await new Promise((r) => setTimeout(r, BOOT_MS));
  const t0 = performance.now();
  const s = await Session.create({ bundle: bytes, keySource, enclave: quiet, ...(pool ? { pool } : {}) });
  const ms = performance.now() - t0;
  await s.close();
  await pool?.close();
  return ms;
}

try {
  await once(false); await once(true); // warm-up: module loads, the trusted program's build cache
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < RUNS; i++) { cold.push(await once(false)); warm.push(await once(true)); }
  console.log(`prewarm: Session.create → ready, ${RUNS} runs each, alternating; prewarmed enclave given ${BOOT_MS} ms`);
  console.log(`  without prewarm: median ${middleValue(cold).toFixed(1)} ms (min ${Math.min(...cold).toFixed(1)}, max ${Math.max(...cold).toFixed(1)})`);
  console.log(`  prewarmed:       median ${middleValue(warm).toFixed(1)} ms (min ${Math.min(...warm).toFixed(1)}, max ${Math.max(...warm).toFixed(1)})`);
  console.log(`  target ≤ 40 ms waited when prewarmed: ${middleValue(warm) <= 40 ? 'met' : 'NOT met'}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
} finally {
  rmSync(home, { recursive: true, force: true });
}
