import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeModel } from '../onnx/codec.ts';
import { mlpModel } from '../onnx/models.testkit.ts';
import { isErrorCode } from '../errors.ts';
import { childNodeProcesses, useTempEnclaveHome } from '../runtime/support.testkit.ts';
import { runCli, runMain } from '../cli/cli.testkit.ts';
import { runBench, splitTimes } from './run.ts';
import { writeReport } from '../report/bench-report.ts';
import { middleValue, summarize } from '../report/stats.ts';

useTempEnclaveHome();
const dir = mkdtempSync(join(tmpdir(), 'enn-bench-'));

test('summarize gives the median and the 10th/90th percentiles', () => {
  const s = summarize([5, 1, 3, 2, 4]);
  assert.equal(s.median, 3);
  assert.equal(s.min, 1);
  assert.equal(s.max, 5);
  assert.ok(Math.abs(s.p10 - 1.4) < 1e-9 && Math.abs(s.p90 - 4.6) < 1e-9);
  // The benchmark scripts' middle value: index ⌊n/2⌋ of the sorted sample, not a mean of two.
  assert.equal(middleValue([5, 1, 3, 2, 4]), 3);
  assert.equal(middleValue([3, 1, 2, 10]), 3);
  assert.ok(Number.isNaN(middleValue([])));
});

test('splitTimes: medians and the three ratios of docs/bench.md, on hand-picked times', () => {
  // medians: head 1, native 2, public 4, enclave 6, compute 2; t_full 14
  const r = splitTimes({ head: [1, 1, 1], native: [3, 2, 1], public: [4, 5, 4], enclave: [7, 5, 6], compute: [2, 2, 2], boundary: [5, 3, 4] }, 14);
  assert.equal(r.t_native.median, 2);
  assert.equal(r.t_enclave.median, 6);
  assert.equal(r.t_boundary.median, 4);
  assert.equal(r.cpu_impact, 0.5, 't_native / t_tail_public = 2 / 4');
  assert.equal(r.tee_impact, 3, 't_enclave / t_native = 6 / 2');
  assert.equal(r.end_to_end, 0.5, '(t_head + t_enclave) / t_full = 7 / 14');
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
    assert.ok(s.tee_impact > 1, `k=${s.k}: a round trip through the enclave process is slower than the same engine in-process (${s.tee_impact})`);
  }
  assert.equal(report.splits[1]!.tail_weight_bytes, (32 * 4 + 4) * 4, 'dense3 weights');
  assert.ok(progress.some((l) => /measuring k=3/.test(l)), 'progress shown');
  for (const s of report.splits.slice(1)) {
    // cold = min(repeat, 10) single calls after idle, apart from the steady stream
    assert.equal(s.t_enclave_cold?.n, 3, `k=${s.k}: cold enclave calls`);
    assert.equal(s.t_native_cold?.n, 3, `k=${s.k}: cold native calls`);
  }
  assert.equal(report.options.method, 'steady');
  assert.ok(report.targets.some((t) => t.name.startsWith('Correctness') && t.met));
  const warm = report.targets.find((t) => t.name.startsWith('Setup waited when prewarmed'));
  assert.deepEqual(warm?.rows.map((r) => [r.k, r.limit, r.value === report.splits[r.k]!.setup.prewarmed]), [[1, 40, true], [2, 40, true], [3, 40, true]], 'the prewarmed target, evaluated per split');
  assert.deepEqual(childNodeProcesses(), [], 'every enclave shut down');

  const out = join(dir, 'report');
  const html = await writeReport(report, out);
  const files = readdirSync(out).sort();
  for (const f of ['report.html', 'report.json', 'splits.csv', 'time-per-split.svg', 'time-per-split.png', 'setup-per-split.svg', 'impact-ratios.png']) assert.ok(files.includes(f), f);
  checkCsv(readFileSync(join(out, 'splits.csv'), 'utf8'), report.t_full.median);
  assert.deepEqual([...readFileSync(join(out, 'impact-ratios.png')).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  const page = readFileSync(html, 'utf8');
  assert.match(page, /<svg[^>]*>/);
  assert.match(page, /Command: <code>test<\/code>/);
  // The platform and the machine's load, measured, in report.json.
  const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as typeof report;
  assert.deepEqual(json.tee, { platform: 'sim', insecure: true, label: 'sim — INSECURE, protects nothing' });
  assert.equal(json.machine.loadAverage?.start.length, 3);
  assert.equal(json.machine.loadAverage?.end.length, 3);
});

/** splits.csv of the MLP sweep, checked column by column against docs/bench.md and what is known of the model. */
function checkCsv(text: string, tFull: number): void {
  const lines = text.split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  assert.equal(lines[0], 'k,first_private_layer,cut_tensors,t_full_ms,t_head_ms,t_native_ms,t_tail_public_ms,t_enclave_ms,t_enclave_compute_ms,'
    + 't_boundary_ms,t_native_p10_ms,t_native_p90_ms,t_enclave_p10_ms,t_enclave_p90_ms,t_native_cold_ms,t_enclave_cold_ms,t_enclave_cold_p10_ms,'
    + 't_enclave_cold_p90_ms,cpu_impact,tee_impact,end_to_end,setup_spawn_ms,setup_attest_provision_ms,setup_load_decrypt_ms,'
    + 'setup_session_create_ms,setup_ready_total_ms,setup_prewarmed_ms,teardown_ms,enclave_peak_rss_bytes,tail_weight_bytes,largest_activation_bytes,sealed_tail_bytes,max_abs_diff,labels_equal,'
    + 'private_params,private_flops,ort_threads');
  const names = lines[0]!.split(',');
  const rows = lines.slice(1).map((l) => {
    assert.ok(!l.includes('"'), `no quoted cell expected: ${l}`);
    const cells = l.split(',');
    assert.equal(cells.length, names.length, l);
    return Object.fromEntries(names.map((n, i) => [n, cells[i]!]));
  });
  assert.deepEqual(rows.map((r) => r.k), ['0', '1', '2', '3']);
  assert.deepEqual(rows.map((r) => r.first_private_layer), ['', 'dense3', 'dense2', 'dense1']);
  const num = (r: Record<string, string>, c: string) => { const v = Number(r[c]); assert.ok(r[c] !== '' && Number.isFinite(v), `k=${r.k} ${c}='${r[c]}'`); return v; };
  const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(Math.abs(a), Math.abs(b)) + 1e-9, `${what}: ${a} vs ${b}`);
  for (const r of rows) near(num(r, 't_full_ms'), tFull, `k=${r.k} t_full_ms`);
  const [all, ...split] = rows;
  // k = 0: everything public — no cut, no enclave, no ratio to the enclave, end to end 1.
  assert.equal(all!.cut_tensors, '');
  assert.deepEqual([all!.cpu_impact, all!.tee_impact, all!.end_to_end, all!.t_native_ms, all!.tail_weight_bytes], ['', '', '1', '0', '0']);
  for (const r of split) {
    assert.match(r.cut_tensors!, /^\S+( \S+)*$/, `k=${r.k} cut tensors`);
    near(num(r, 'cpu_impact'), num(r, 't_native_ms') / num(r, 't_tail_public_ms'), `k=${r.k} cpu_impact`);
    near(num(r, 'tee_impact'), num(r, 't_enclave_ms') / num(r, 't_native_ms'), `k=${r.k} tee_impact`);
    near(num(r, 'end_to_end'), (num(r, 't_head_ms') + num(r, 't_enclave_ms')) / num(r, 't_full_ms'), `k=${r.k} end_to_end`);
    assert.ok(num(r, 't_enclave_p10_ms') <= num(r, 't_enclave_ms') && num(r, 't_enclave_ms') <= num(r, 't_enclave_p90_ms'), `k=${r.k} spread`);
    assert.ok(num(r, 't_native_p10_ms') <= num(r, 't_native_ms') && num(r, 't_native_ms') <= num(r, 't_native_p90_ms'), `k=${r.k} native spread`);
    assert.ok(num(r, 't_enclave_cold_p10_ms') <= num(r, 't_enclave_cold_ms') && num(r, 't_enclave_cold_ms') <= num(r, 't_enclave_cold_p90_ms'), `k=${r.k} cold spread`);
    assert.ok(num(r, 't_native_cold_ms') > 0, `k=${r.k} cold native`);
    assert.ok(num(r, 't_enclave_compute_ms') < num(r, 't_enclave_ms'), `k=${r.k} compute inside the round trip`);
    assert.ok(num(r, 'setup_spawn_ms') > 0 && num(r, 'setup_ready_total_ms') >= num(r, 'setup_spawn_ms') + num(r, 'setup_attest_provision_ms'), `k=${r.k} setup`);
    // A second, prewarmed enclave per split: attest → ready only (no spawn, no boot, no engine load).
    assert.ok(num(r, 'setup_prewarmed_ms') > 0, `k=${r.k} prewarmed setup`);
    assert.ok(num(r, 'teardown_ms') > 0 && num(r, 'enclave_peak_rss_bytes') > 1e6, `k=${r.k} teardown, memory`);
    assert.ok(num(r, 'sealed_tail_bytes') >= 64 * 1024 && num(r, 'max_abs_diff') <= 1e-5 && r.labels_equal === 'true', `k=${r.k} sizes, correctness`);
  }
  // mlpModel: x 16 → dense1 32 → dense2 32 → dense3 4 (float32 weights and biases).
  const dense3 = 32 * 4 + 4, dense2 = 32 * 32 + 32, dense1 = 16 * 32 + 32;
  assert.deepEqual(split.map((r) => num(r, 'tail_weight_bytes')), [dense3 * 4, (dense3 + dense2) * 4, (dense3 + dense2 + dense1) * 4]);
  assert.deepEqual(split.map((r) => num(r, 'private_params')), [dense3, dense3 + dense2, dense3 + dense2 + dense1]);
  // Gemm FLOPs per sample: 2 · in · out.
  assert.deepEqual(split.map((r) => num(r, 'private_flops')), [2 * 32 * 4, 2 * 32 * 4 + 2 * 32 * 32, 2 * 32 * 4 + 2 * 32 * 32 + 2 * 16 * 32]);
  assert.deepEqual([all!.private_params, all!.private_flops, all!.ort_threads], ['0', '0', '']);
  // The MLP's tails are far under the crossover: one thread for the enclave and both baselines.
  assert.deepEqual(split.map((r) => r.ort_threads), ['1', '1', '1']);
}

test('bad input: splits out of range, wrong input shape, unwritable output, interruption — clear errors, no report', async () => {
  await assert.rejects(runBench(mlpModel(), { splits: [7], repeat: 1 }), (e) => isErrorCode(e, 'BENCH_SPLITS') && /valid: 0\.\.3/.test((e as Error).message));
  await assert.rejects(runBench(mlpModel(), { ortThreads: 0, repeat: 1 }), (e) => isErrorCode(e, 'USAGE') && /--ort-threads must be 'auto' or an integer in 1\.\.999, got 0/.test((e as Error).message));
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
  assert.deepEqual(childNodeProcesses(), [], 'enclaves shut down after the interruption');
});

test('enclave-nn bench runs as a process and prints the table and the report path', async () => {
  const model = join(dir, 'mlp.onnx');
  writeFileSync(model, encodeModel(mlpModel()));
  const out = join(dir, 'cli-report');
  const r = runCli(['bench', model, '--splits', '0,1', '--repeat', '2', '--warmup', '1', '--out', out], { env: { ENCLAVE_NN_HOME: join(dir, 'home') } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /t_full \(all public, in-process\)/);
  assert.match(r.stdout, /^1\s+dense3/m);
  assert.match(r.stderr, /INSECURE: simulated TEE/);
  assert.ok(existsSync(join(out, 'report.html')));
  const bad = await runMain(['bench', model, '--splits', '0,9', '--out', join(dir, 'never')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /split 9 is out of range/);
  assert.ok(!existsSync(join(dir, 'never')));
});

test('--batch 1,4: a throughput sweep per split (samples/s, native and enclave) in report.json and throughput.csv', async () => {
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const report = await runBench(mlpModel(), { repeat: 4, warmup: 1, cold: 2, splits: [1], throughputBatches: [1, 4], ortThreads: 2, modelName: 'mlp', command: 'test', progress: () => undefined });
  const s = report.splits.find((x) => x.k === 1)!;
  assert.equal(s.ort_threads, 2, 'an explicit --ort-threads overrides the FLOPs choice');
  assert.deepEqual(s.throughput?.map((t) => t.batch), [1, 4]);
  for (const t of s.throughput!) {
    assert.ok(t.native_samples_per_s > 0 && Number.isFinite(t.native_samples_per_s), `native samples/s at batch ${t.batch}`);
    assert.ok(t.enclave_samples_per_s > 0 && Number.isFinite(t.enclave_samples_per_s), `enclave samples/s at batch ${t.batch}`);
  }
  assert.equal(s.t_enclave_cold?.n, 2);
  const out = join(mkdtempSync(join(tmpdir(), 'enn-bench-tp-')), 'r');
  await writeReport(report, out);
  const csv = readFileSync(join(out, 'throughput.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'k,batch,native_samples_per_s,enclave_samples_per_s,enclave_over_native');
  assert.deepEqual(csv.slice(1).map((l) => l.split(',').slice(0, 2).join(',')), ['1,1', '1,4']);
  const splitsHeader = readFileSync(join(out, 'splits.csv'), 'utf8').split('\n')[0]!.split(',');
  for (const c of ['t_native_ms', 't_enclave_ms', 't_native_cold_ms', 't_enclave_cold_ms', 't_native_p10_ms', 't_native_p90_ms', 't_enclave_p10_ms', 't_enclave_p90_ms']) {
    assert.ok(splitsHeader.includes(c), `splits.csv has ${c}`);
  }
});
