import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeModel } from '../onnx/codec.ts';
import { mlpModel } from '../onnx/models.testkit.ts';
import { isErrorCode } from '../errors.ts';
import { useTempEnclaveHome } from '../runtime/support.testkit.ts';
import { runCli } from '../cli/cli.testkit.ts';
import { runBench } from './run.ts';
import { CSV_COLUMNS, toCsv, writeReport } from './report.ts';
import { summarize } from './stats.ts';

useTempEnclaveHome();
const dir = mkdtempSync(join(tmpdir(), 'enn-bench-'));

/** Node processes whose parent is this test process (enclaves left running). */
function childNodes(): string[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' }).split('\n').filter((l) => /node/.test(l));
  } catch {
    return [];
  }
}

test('summarize gives the median and the 10th/90th percentiles', () => {
  const s = summarize([5, 1, 3, 2, 4]);
  assert.equal(s.median, 3);
  assert.equal(s.min, 1);
  assert.equal(s.max, 5);
  assert.ok(Math.abs(s.p10 - 1.4) < 1e-9 && Math.abs(s.p90 - 4.6) < 1e-9);
});

test('a sweep over every split measures each through the enclave, correctly, and writes a complete report', async () => {
  const progress: string[] = [];
  const report = await runBench(mlpModel(), { repeat: 3, warmup: 1, modelName: 'mlp', command: 'test', progress: (s) => progress.push(s) });
  assert.deepEqual(report.splits.map((s) => s.k), [0, 1, 2, 3]);
  assert.deepEqual(report.splits.map((s) => s.firstPrivateLayer), [null, 'dense3', 'dense2', 'dense1']);
  for (const s of report.splits.slice(1)) {
    assert.ok(s.max_abs_diff <= 1e-5, `k=${s.k} diff ${s.max_abs_diff}`);
    assert.equal(s.labels_equal, true);
    assert.equal(s.t_enclave.n, 3);
    assert.ok(s.t_enclave.median > s.t_enclave_compute.median, 'the round trip includes the enclave compute');
    assert.ok(s.setup.ready_total > 0 && s.setup.spawn > 0 && s.setup.ready_total >= s.setup.spawn);
    assert.ok(s.enclave_peak_rss_bytes > 1e6, 'peak memory reported');
    assert.ok(s.sealed_tail_bytes >= 64 * 1024, 'sealed tail padded to a bucket ≥ 64 KiB');
    assert.ok(Math.abs(s.tee_impact - s.t_enclave.median / s.t_native.median) < 1e-9);
  }
  assert.equal(report.splits[1]!.tail_weight_bytes, (32 * 4 + 4) * 4, 'dense3 weights');
  assert.ok(progress.some((l) => /repeat 3\/3/.test(l)), 'progress shown');
  assert.ok(report.targets.some((t) => t.name.startsWith('Correctness') && t.met));
  assert.deepEqual(childNodes(), [], 'every enclave shut down');

  const out = join(dir, 'report');
  const html = await writeReport(report, out);
  const files = readdirSync(out).sort();
  for (const f of ['report.html', 'report.json', 'splits.csv', 'time-per-split.svg', 'time-per-split.png', 'setup-per-split.svg', 'impact-ratios.png']) assert.ok(files.includes(f), f);
  const csv = readFileSync(join(out, 'splits.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], CSV_COLUMNS.join(','));
  assert.equal(csv.length, 5);
  assert.deepEqual([...readFileSync(join(out, 'impact-ratios.png')).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  const page = readFileSync(html, 'utf8');
  assert.match(page, /<svg[^>]*>/);
  assert.match(page, /Command: <code>test<\/code>/);
  assert.equal(toCsv(report).split('\n')[1]!.split(',')[0], '0');
});

test('bad input: splits out of range, wrong input shape, unwritable output, interruption — clear errors, no report', async () => {
  await assert.rejects(runBench(mlpModel(), { splits: [7], repeat: 1 }), (e) => isErrorCode(e, 'BENCH_SPLITS') && /valid: 0\.\.3/.test((e as Error).message));
  const wrong = { x: { dtype: 'float32' as const, dims: [1, 15], data: new Float32Array(15) } };
  await assert.rejects(runBench(mlpModel(), { feeds: wrong, repeat: 1 }), (e) => isErrorCode(e, 'INPUT') && /has shape \[1,15\]/.test((e as Error).message));
  const file = join(dir, 'a-file');
  writeFileSync(file, '');
  const report = await runBench(mlpModel(), { splits: [0, 1], repeat: 1, warmup: 0 });
  await assert.rejects(writeReport(report, join(file, 'out')), (e) => isErrorCode(e, 'FILE_WRITE'));
  const controller = new AbortController();
  let seen = 0;
  const p = runBench(mlpModel(), { repeat: 50, warmup: 1, signal: controller.signal, progress: () => { if (++seen === 4) controller.abort(); } });
  await assert.rejects(p, (e) => isErrorCode(e, 'BENCH_INTERRUPTED'));
  assert.deepEqual(childNodes(), [], 'enclaves shut down after the interruption');
});

test('enclave-nn bench runs as a process and prints the table and the report path', () => {
  const model = join(dir, 'mlp.onnx');
  writeFileSync(model, encodeModel(mlpModel()));
  const out = join(dir, 'cli-report');
  const r = runCli(['bench', model, '--splits', '0,1', '--repeat', '2', '--warmup', '1', '--out', out], { env: { ENCLAVE_NN_HOME: join(dir, 'home') } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /t_full \(all public, in-process\)/);
  assert.match(r.stdout, /^1\s+dense3/m);
  assert.match(r.stderr, /INSECURE: simulated TEE/);
  assert.ok(existsSync(join(out, 'report.html')));
  const bad = runCli(['bench', model, '--splits', '0,9', '--out', join(dir, 'never')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /split 9 is out of range/);
  assert.ok(!existsSync(join(dir, 'never')));
});
