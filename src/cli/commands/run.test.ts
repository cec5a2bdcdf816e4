import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeModel } from '../../onnx/codec.ts';
import { maxAbsDiff, runOnnx } from '../../onnx/ort.ts';
import { cnnModel, randomFloats, seededRandom, twoOutputModel, wideCutModel } from '../../onnx/models.testkit.ts';
import { readNpy, writeNpy } from '../../runtime/npy.ts';
import { runCli, runMain } from '../cli.testkit.ts';

const dir = mkdtempSync(join(tmpdir(), 'enn-run-'));
const env = { ENCLAVE_NN_HOME: join(dir, 'home') };
process.env.ENCLAVE_NN_HOME = env.ENCLAVE_NN_HOME; // in-process runs (runMain) too
const image = { dtype: 'float32' as const, dims: [3, 1, 12, 12], data: Float32Array.from({ length: 432 }, (_, i) => Math.cos(i / 7)) };
writeFileSync(join(dir, 'cnn.onnx'), encodeModel(cnnModel()));
writeFileSync(join(dir, 'x.npy'), writeNpy(image));
// The bundle every test below runs; a failed split fails them all (it must not skip them).
before(async () => {
  const split = await runMain(['split', join(dir, 'cnn.onnx'), '--private', '2', '-o', join(dir, 'cnn.enn')]);
  assert.equal(split.code, 0, `split failed: ${split.stderr}`);
});

test('run (a real process) prints the outputs and the argmax, writes y.npy equal to the unsplit model, and says it is insecure', async () => {
  const r = runCli(['run', join(dir, 'cnn.enn'), '--input', join(dir, 'x.npy'), '--output', join(dir, 'y.npy'), '--insecure-dev-key', join(dir, 'cnn.enn.key')], { env });
  assert.equal(r.code, 0, r.stderr);
  const want = (await runOnnx(cnnModel(), { image })).probs!;
  const y = readNpy(readFileSync(join(dir, 'y.npy')));
  assert.ok(maxAbsDiff(y, want) <= 1e-5);
  const argmax = [0, 1, 2].map((row) => { const p = [...want.data.slice(row * 10, row * 10 + 10) as Float32Array]; return p.indexOf(Math.max(...p)); });
  assert.match(r.stdout, /^probs float32\[3,10\]/);
  assert.match(r.stdout, new RegExp(`argmax: ${argmax.join(' ')}\\n`));
  assert.match(r.stderr, /INSECURE: simulated TEE \(sim platform\)/);
  assert.match(r.stderr, /INSECURE: development key path/);
  assert.equal(r.stderr.split('\n').filter((l) => l.includes('simulated TEE')).length, 1, 'the sim line once');
});

test('run takes JSON (a bare nested array, batch added for one sample) and --json prints the outputs', async () => {
  const sample = Array.from({ length: 1 }, () => Array.from({ length: 12 }, (_, i) => Array.from({ length: 12 }, (_, j) => (i * 12 + j) / 144)));
  writeFileSync(join(dir, 'x.json'), JSON.stringify(sample));
  const r = await runMain(['run', join(dir, 'cnn.enn'), '--input', join(dir, 'x.json'), '--insecure-dev-key', join(dir, 'cnn.enn.key'), '--json', '--engine', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { probs: { dims: number[]; data: number[] } };
  const want = (await runOnnx(cnnModel(), { image: { dtype: 'float32', dims: [1, 1, 12, 12], data: Float32Array.from(sample.flat(2)) } })).probs!;
  assert.deepEqual(got.probs.dims, [1, 10]);
  assert.ok(maxAbsDiff({ dtype: 'float32', dims: [1, 10], data: Float32Array.from(got.probs.data) }, want) <= 1e-5);
});

test('a wrong input shape or dtype is one clear line, exit 2, and no output file', async () => {
  writeFileSync(join(dir, 'bad.npy'), writeNpy({ dtype: 'float32', dims: [1, 1, 10, 12], data: new Float32Array(120) }));
  writeFileSync(join(dir, 'int.npy'), writeNpy({ dtype: 'int32', dims: [1, 1, 12, 12], data: new Int32Array(144) }));
  for (const [file, pattern] of [['bad.npy', /input 'image' has shape \[1,1,10,12\], expected \[N,1,12,12\]/], ['int.npy', /input 'image' is int32, expected float32/]] as const) {
    const r = await runMain(['run', join(dir, 'cnn.enn'), '--input', join(dir, file), '--output', join(dir, 'bad-out.npy'), '--insecure-dev-key', join(dir, 'cnn.enn.key')]);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.includes('INSECURE'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, pattern);
    assert.equal(existsSync(join(dir, 'bad-out.npy')), false);
  }
  const r = await runMain(['run', join(dir, 'cnn.enn'), '--input', join(dir, 'x.npy')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--insecure-dev-key/);
});

test('several outputs are written as y.<name>.npy', async () => {
  writeFileSync(join(dir, 'two.onnx'), encodeModel(twoOutputModel()));
  assert.equal((await runMain(['split', join(dir, 'two.onnx'), '--private', '1', '-o', join(dir, 'two.enn')])).code, 0);
  writeFileSync(join(dir, 'x6.npy'), writeNpy({ dtype: 'float32', dims: [2, 6], data: Float32Array.from({ length: 12 }, (_, i) => i / 12) }));
  const r = await runMain(['run', join(dir, 'two.enn'), '--input', join(dir, 'x6.npy'), '--output', join(dir, 'y.npy'), '--insecure-dev-key', join(dir, 'two.enn.key')]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readNpy(readFileSync(join(dir, 'y.aux_out.npy'))).dims, [2, 2]);
  assert.deepEqual(readNpy(readFileSync(join(dir, 'y.main_out.npy'))).dims, [2, 5]);
});

test('a NaN or Inf input is refused by default (one line: the tensor and the first index, exit 2); --allow-nonfinite runs it', async () => {
  const data = Float32Array.from(image.data);
  data[150] = NaN; // sample 1, row 0, column 6
  writeFileSync(join(dir, 'nan.npy'), writeNpy({ ...image, data }));
  const args = ['run', join(dir, 'cnn.enn'), '--input', join(dir, 'nan.npy'), '--output', join(dir, 'nan-out.npy'), '--insecure-dev-key', join(dir, 'cnn.enn.key')];
  const r = await runMain(args);
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n').filter((l) => !l.includes('INSECURE'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /input 'image' has NaN at index \[1,0,0,6\]/);
  assert.equal(existsSync(join(dir, 'nan-out.npy')), false);
  const ok = await runMain([...args, '--allow-nonfinite']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(existsSync(join(dir, 'nan-out.npy')));
});

test('run streams a .npy whose cut exceeds the 64 MiB frame (300 rows × 256 KiB), writes .npy/.csv/.json equal to the unsplit model, progress only on a TTY', async () => {
  const model = wideCutModel();
  writeFileSync(join(dir, 'wide.onnx'), encodeModel(model));
  const s = await runMain(['split', join(dir, 'wide.onnx'), '--private', '1', '-o', join(dir, 'wide.enn'), '--no-verify']);
  assert.equal(s.code, 0, s.stderr);
  const rows = 300;
  const x = { dtype: 'float64' as const, dims: [rows, 4], data: Float64Array.from(randomFloats(rows * 4, seededRandom(5))) };
  writeFileSync(join(dir, 'wide-x.npy'), writeNpy(x));
  const want = (await runOnnx(model, { x: { dtype: 'float32', dims: x.dims, data: Float32Array.from(x.data) } })).y!;
  const base = ['run', join(dir, 'wide.enn'), '--input', join(dir, 'wide-x.npy'), '--insecure-dev-key', join(dir, 'wide.enn.key')];
  const r = await runMain([...base, '--output', join(dir, 'wide-y.npy')], { stderrIsTTY: true });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(maxAbsDiff(readNpy(readFileSync(join(dir, 'wide-y.npy'))), want) <= 1e-5);
  assert.match(r.stderr, /\r\[#{24}\] 100% 300\/300 rows {2}[\d.]+ rows\/s {2}ETA 0:00/, 'a progress line on a TTY');
  const csv = await runMain([...base, '--output', join(dir, 'wide-y.csv')]);
  assert.equal(csv.code, 0, csv.stderr);
  assert.doesNotMatch(csv.stderr, /rows\/s/, 'no progress line when stderr is not a terminal');
  const lines = readFileSync(join(dir, 'wide-y.csv'), 'utf8').trim().split('\n');
  assert.equal(lines[0], 'y_0,y_1,y_2');
  assert.equal(lines.length, rows + 1);
  assert.ok(maxAbsDiff({ dtype: 'float32', dims: [rows, 3], data: Float32Array.from(lines.slice(1).flatMap((l) => l.split(',').map(Number))) }, want) <= 1e-5);
  const json = await runMain([...base, '--output', join(dir, 'wide-y.json')]);
  assert.equal(json.code, 0, json.stderr);
  const y = (JSON.parse(readFileSync(join(dir, 'wide-y.json'), 'utf8')) as { y: { dims: number[]; data: number[] } }).y;
  assert.ok(maxAbsDiff({ dtype: 'float32', dims: y.dims, data: Float32Array.from(y.data) }, want) <= 1e-5);
  const bad = await runMain([...base, '--output', join(dir, 'wide-y.txt')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown format '\.txt'; known: \.npy, \.json, \.csv/);
});

test('a 100,000-deep JSON input is one line and exit 2, not a stack overflow (as a bare array and under its input name)', async () => {
  const deep = '['.repeat(100_000) + '1' + ']'.repeat(100_000);
  writeFileSync(join(dir, 'deep.json'), deep);
  writeFileSync(join(dir, 'deep-named.json'), `{"image":${deep}}`);
  for (const file of ['deep.json', 'deep-named.json']) {
    const r = await runMain(['run', join(dir, 'cnn.enn'), '--input', join(dir, file), '--insecure-dev-key', join(dir, 'cnn.enn.key')]);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.includes('INSECURE'));
    assert.deepEqual(lines, [`enclave-nn run: Cannot read input ${join(dir, file)}: 'image' nests arrays deeper than its rank 4`]);
  }
});
