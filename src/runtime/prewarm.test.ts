/**
 * The warm start (issue 14, item 3): a session on a pre-spawned enclave answers as one that
 * started its own, and pre-spawned enclaves never used leave no process behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mlpModel, seededRandom } from '../onnx/models.testkit.ts';
import { randomFeeds } from '../onnx/ort.ts';
import { Session } from './session.ts';
import { bundleOfSplit, childNodeProcesses, everySplit, useTempEnclaveHome } from './support.testkit.ts';

useTempEnclaveHome();
const quiet = { onStderr: () => undefined };

test('prewarm + run gives the outputs of a session that started its own enclave', async () => {
  const { view, splits } = await everySplit(mlpModel());
  const { bytes, providerKey } = bundleOfSplit(splits[1]!);
  const keySource = { kind: 'insecure-dev-key' as const, providerKey };
  const feeds = randomFeeds(view.inputs, 3, seededRandom(5));
  const pool = Session.prewarm({ ...quiet, platform: 'sim' });
  const warm = await Session.create({ bundle: bytes, keySource, pool, enclave: quiet });
  const cold = await Session.create({ bundle: bytes, keySource, enclave: quiet });
  try {
    assert.deepEqual(await warm.run(feeds), await cold.run(feeds));
    const status = await warm.status();
    assert.equal(status.state, 'ready');
    assert.equal(warm.starts, 1);
  } finally {
    await warm.close();
    await cold.close();
    await pool.close();
  }
  assert.deepEqual(childNodeProcesses(), [], 'sessions and pool closed their enclaves');
});

test('a prewarmed enclave never used is stopped by pool.close(): no orphan process', async () => {
  const before = childNodeProcesses();
  const pool = Session.prewarm({ ...quiet, size: 2 });
  // Boot done: the enclaves are running children of this process.
  const taken = await pool.take();
  assert.ok(childNodeProcesses().length >= before.length + 2, 'two enclaves running');
  await taken.close();
  await pool.close();
  assert.deepEqual(childNodeProcesses(), before);
  await assert.rejects(pool.take(), /pool is closed/);
});

test('a pool for another platform is not used (the session starts its own)', async () => {
  const { splits } = await everySplit(mlpModel());
  const { bytes, providerKey } = bundleOfSplit(splits[0]!);
  const pool = Session.prewarm({ ...quiet, engine: 'wasm' });
  const s = await Session.create({ bundle: bytes, keySource: { kind: 'insecure-dev-key', providerKey }, pool, enclave: quiet });
  try {
    assert.equal((await s.status()).engine, 'ort');
  } finally {
    await s.close();
    await pool.close();
  }
});

test('a host that exits without closing its pool leaves no enclave behind', async () => {
  // A child host prewarms, prints the enclave's pid once booted, and exits without closing.
  const script = `
    import { EnclavePool } from ${JSON.stringify(new URL('../enclave/pool.ts', import.meta.url).pathname)};
    const pool = new EnclavePool({ onStderr: () => undefined });
    const e = await pool.take();
    console.log(e.pid);
    process.exit(0);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: process.env, timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const pid = Number(r.stdout.trim());
  assert.ok(pid > 0, r.stdout);
  // The enclave sees the end of its input and exits (it is reparented meanwhile; poll briefly).
  let alive = true;
  for (let i = 0; i < 100 && alive; i++) {
    try { process.kill(pid, 0); await new Promise((res) => setTimeout(res, 50)); } catch { alive = false; }
  }
  assert.equal(alive, false, `enclave ${pid} still running after its host exited`);
});
