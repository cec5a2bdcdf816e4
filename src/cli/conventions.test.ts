/**
 * Issue 13 item 5: CLI conventions. In-process through main() where the behaviour is ours;
 * real processes where it is the process's (EPIPE, --version, native onnxruntime logs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor } from '../onnx/build.ts';
import { encodeModel } from '../onnx/codec.ts';
import { cnnModel, mlpModel } from '../onnx/models.testkit.ts';
import { writeNpy } from '../runtime/npy.ts';
import { nearestList } from '../util/nearest.ts';
import { BIN, REPO_ROOT, runCli, runMain } from './cli.testkit.ts';
import { commands } from './registry.ts';

const dir = mkdtempSync(join(tmpdir(), 'enn-conventions-'));
process.env.ENCLAVE_NN_HOME = join(dir, 'home');
const mlp = join(dir, 'mlp.onnx');
writeFileSync(mlp, encodeModel(mlpModel()));

// A real process: the bin as shipped starting with no command (tsx registration, main's import).
test('--version prints the package version (a real process)', () => {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const r = runCli(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `enclave-nn ${version}\n`);
});

test('enclave-nn help <cmd> prints what <cmd> --help prints; no usage text leaks a @defaultValue tag', async () => {
  for (const name of Object.keys(commands)) {
    const a = await runMain(['help', name]);
    const b = await runMain([name, '--help']);
    assert.equal(a.code, 0);
    assert.equal(a.stdout, b.stdout, name);
    assert.doesNotMatch(a.stdout, /@default/, `${name} --help`);
  }
});

test('piped into a reader that stops early (head), the CLI exits quietly: no EPIPE stack', async () => {
  const enn = join(dir, 'cnn.enn');
  writeFileSync(join(dir, 'cnn.onnx'), encodeModel(cnnModel()));
  assert.equal((await runMain(['split', join(dir, 'cnn.onnx'), '--private', '1', '-o', enn, '--no-verify'])).code, 0);
  const rows = 3000; // --json prints ~300 KB: more than a pipe holds, so the write meets the closed pipe
  writeFileSync(join(dir, 'x.npy'), writeNpy({ dtype: 'float32', dims: [rows, 1, 12, 12], data: new Float32Array(rows * 144) }));
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" run "${enn}" --input "${join(dir, 'x.npy')}" --insecure-dev-key "${enn}.key" --json | head -c 20 >/dev/null; echo "status=\${PIPESTATUS[0]}" >&2`], { encoding: 'utf8', env: { ...process.env }, timeout: 120_000 });
  assert.match(r.stderr, /status=0\n/);
  assert.doesNotMatch(r.stderr, /EPIPE|Error|at /);
});

test('a negative number is a value: --private -1 and --credits -5 get the range message, not "ambiguous"', async () => {
  const s = await runMain(['split', mlp, '--private', '-1', '-o', join(dir, 'neg.enn')]);
  assert.equal(s.code, 2);
  assert.match(s.stderr, /--private -1 is out of range; valid: 1\.\.3/);
  const a = await runMain(['admin', 'licenses', 'grant', '--customer', 'c', '--model', 'm', '--credits', '-5', '--token', 't']);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /--credits must be a non-negative integer, got '-5'/);
  const b = await runMain(['bench', mlp, '--repeat', '-3']);
  assert.match(b.stderr, /--repeat must be an integer ≥ 1, got '-3'/);
  for (const r of [s, a, b]) assert.doesNotMatch(r.stderr, /ambiguous/);
});

test('an unknown option names the command\'s options, nearest first; an unknown command its nearest names', async () => {
  const r = await runMain(['split', mlp, '--privat', '1']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^enclave-nn split: Cannot run 'split': unknown option '--privat'; its options: --private, /);
  const c = await runMain(['spilt']);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /unknown command 'spilt'; known: .*split/);
});

test('long lists in errors are cut to the nearest names plus a count', async () => {
  const names = Array.from({ length: 40 }, (_, i) => `dense_${i}`);
  assert.equal(nearestList('dense_7x', names, 3), 'dense_7, dense_0, dense_1, … (37 more)');
  assert.equal(nearestList('x', ['a', 'b'], 3), 'a, b');
  const r = await runMain(['split', mlp, '--at', 'dense', '-o', join(dir, 'at.enn')]);
  assert.match(r.stderr, /no layer or tensor named 'dense'; layers you can cut after: dense1, dense2/);
});

// Real processes (inspect's and split's only ones): onnxruntime writes its logs to fd 2 itself, past main()'s io.
test('onnxruntime warnings (an unused initializer) never reach the terminal on inspect and split (real processes)', () => {
  const m = mlpModel();
  m.graph!.initializer.push(tensor('unused/W', 'float32', [2, 2], [1, 2, 3, 4]));
  const p = join(dir, 'unused.onnx');
  writeFileSync(p, encodeModel(m));
  for (const args of [['inspect', p], ['split', p, '--private', '1', '-o', join(dir, 'unused.enn')]]) {
    const r = runCli(args, { env: { ENCLAVE_NN_HOME: process.env.ENCLAVE_NN_HOME } });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /onnxruntime|Removing initializer/, args[0]);
  }
});

const H5 = join(REPO_ROOT, '../shared/models/keras_h5/tensorspace_mnist.h5');
test('a truncated .h5 is one line: truncated HDF5 file: N of M bytes', { skip: !existsSync(H5) && '../shared/models/keras_h5 is absent' }, async () => {
  const src = H5;
  const size = statSync(src).size;
  const p = join(dir, 'cut.h5');
  copyFileSync(src, p);
  truncateSync(p, 100_000);
  const r = await runMain(['inspect', p]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `enclave-nn inspect: Cannot import ${p}: truncated HDF5 file: 100000 of ${size} bytes\n`);
});

test('run --license ID without --server uses the license server named in the bundle (split --license-server)', async () => {
  const named = join(dir, 'named.enn');
  assert.equal((await runMain(['split', mlp, '--private', '1', '-o', named, '--license-server', 'http://127.0.0.1:9', '--no-verify'])).code, 0);
  writeFileSync(join(dir, 'x16.json'), JSON.stringify([Array.from({ length: 16 }, () => 0.5)]));
  const r = await runMain(['run', named, '--input', join(dir, 'x16.json'), '--license', 'lic-1']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /127\.0\.0\.1:9/, 'the bundle\'s server was tried');
  const plain = join(dir, 'plain.enn');
  assert.equal((await runMain(['split', mlp, '--private', '1', '-o', plain, '--no-verify'])).code, 0);
  const p = await runMain(['run', plain, '--input', join(dir, 'x16.json'), '--license', 'lic-1']);
  assert.equal(p.code, 2);
  assert.match(p.stderr, /--license lic-1 needs --server URL \(the bundle names no license server\)/);
});
