import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeModel, decodeModel } from '../../onnx/codec.ts';
import { mlpModel, cnnModel } from '../../onnx/models.testkit.ts';
import { runMain } from '../cli.testkit.ts';

const dir = mkdtempSync(join(tmpdir(), 'enn-cli-'));
const mlp = join(dir, 'mlp.onnx');
writeFileSync(mlp, encodeModel(mlpModel()));
const cnn = join(dir, 'cnn.onnx');
writeFileSync(cnn, encodeModel(cnnModel()));

// In-process; inspect's and split's real-process test is in src/cli/conventions.test.ts (onnxruntime's own logs).
test('inspect prints one row per layer with shapes, params, flops and cuts; --json', async () => {
  const r = await runMain(['inspect', cnn]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /conv1\s+Conv\+Relu\s+\[N,4,12,12\]\s+40\s+160\s+10\.4k\s+r1 \(k=4\)/);
  assert.match(r.stdout, /fc\s+Gemm\s+\[N,10\]\s+1\.4k\s+5\.8k\s+2\.9k\s+logits \(k=1\)/);
  const j = JSON.parse((await runMain(['inspect', cnn, '--json'])).stdout);
  assert.deepEqual(j.layers.map((l: { name: string }) => l.name), ['conv1', 'pool1', 'flatten', 'fc', 'softmax']);
  assert.equal(j.totals.paramCount, 36 + 4 + 1440 + 10);
});

test('split --private writes head and tail that are valid ONNX and verifies them', async () => {
  const head = join(dir, 'h.onnx');
  const tail = join(dir, 't.onnx');
  const r = await runMain(['split', mlp, '--private', '2', '--head', head, '--tail', tail]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /2 private layer\(s\) from 'dense2'; cut: h1 float32\[batch,32\]; verified/);
  assert.equal(decodeModel(readFileSync(tail)).graph!.node[0]!.name, 'dense2/Gemm');
  assert.equal(decodeModel(readFileSync(head)).graph!.output[0]!.name, 'h1');
});

async function assertBadInput(args: string[], pattern: RegExp, noFiles: string[]) {
  const r = await runMain(args);
  assert.equal(r.code, 2, `exit code for ${args.join(' ')}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.match(lines[0]!, pattern);
  assert.ok(lines.length <= 2, `one error line (plus usage at most), got: ${r.stderr}`);
  for (const f of noFiles) assert.ok(!existsSync(f), `${f} must not be written`);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temporary files left');
}

test('bad input: one line naming the file and the reason, exit 2, nothing written', async () => {
  const h = join(dir, 'bad-h.onnx');
  const t = join(dir, 'bad-t.onnx');
  const notOnnx = join(dir, 'not.onnx');
  writeFileSync(notOnnx, 'this is not a protobuf at all, just text\n');
  await assertBadInput(['split', notOnnx, '--private', '1', '--head', h, '--tail', t], /not\.onnx: not (a valid protobuf|an ONNX model)/, [h, t]);
  const truncated = join(dir, 'truncated.onnx');
  const bytes = readFileSync(mlp);
  writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  await assertBadInput(['inspect', truncated], /truncated\.onnx/, []);
  await assertBadInput(['split', mlp, '--at', 'no_such_layer', '--head', h, '--tail', t], /no layer or tensor named 'no_such_layer'; layers you can cut after: dense1, dense2/, [h, t]);
  await assertBadInput(['split', mlp, '--private', '9', '--head', h, '--tail', t], /--private 9 is out of range; valid: 1\.\.3/, [h, t]);
  await assertBadInput(['split', mlp, '--private', '0', '--head', h, '--tail', t], /out of range/, [h, t]);
  await assertBadInput(['inspect', join(dir, 'missing.onnx')], /missing\.onnx: ENOENT/, []);
  const ro = mkdtempSync(join(tmpdir(), 'enn-ro-'));
  chmodSync(ro, 0o500);
  if (process.getuid?.() !== 0) { // root writes anywhere; the missing-folder case below covers it
    await assertBadInput(['split', mlp, '--private', '1', '--head', join(ro, 'h.onnx'), '--tail', join(ro, 't.onnx')], /Cannot write .*h\.onnx/, [join(ro, 'h.onnx'), join(ro, 't.onnx')]);
  }
  await assertBadInput(['split', mlp, '--private', '1', '--head', join(dir, 'no-such-dir', 'h.onnx'), '--tail', t], /Cannot write .*h\.onnx: ENOENT/, [t]);
});

test('a model with no possible cut is refused', async () => {
  const empty = join(dir, 'empty.onnx');
  const m = mlpModel();
  m.graph!.node = [];
  m.graph!.output = m.graph!.input;
  writeFileSync(empty, encodeModel(m));
  await assertBadInput(['split', empty, '--private', '1', '--head', join(dir, 'e-h.onnx'), '--tail', join(dir, 'e-t.onnx')], /no nodes, so there is no cut/, []);
});

test('unknown commands list the known ones', async () => {
  const r = await runMain(['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'; known: .*inspect.*split/);
});

test('split --platform gramine-sgx writes the measurement words into the signed policy; sim stays the default, INSECURE', async () => {
  const { readBundleFile } = await import('../../bundle/index.ts');
  const [a, b, s] = ['aa', 'bb', 'cc'].map((x) => x.repeat(32));
  const out = join(dir, 'sgx.enn');
  const r = await runMain(['split', mlp, '--private', '1', '-o', out, '--platform', 'gramine-sgx', '--mrenclave', a, '--mrenclave', `${b.toUpperCase()},${a}`, '--mrsigner', s, '--min-svn', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /INSECURE/);
  assert.deepEqual((await readBundleFile(out)).header.policy, { platforms: [{ kind: 'gramine-sgx', measurements: [a, b], mrSigners: [s], minIsvSvn: 2 }] });
  assert.match((await runMain(['bundle', 'info', out])).stdout, new RegExp(`gramine-sgx \\(${a}, ${b}; signed by ${s}; ISVSVN >= 2\\)`));
  const dev = join(dir, 'dev.enn');
  const d = await runMain(['split', mlp, '--private', '1', '-o', dev]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stderr, /INSECURE: --platform sim \(the default\)/);
  assert.deepEqual((await readBundleFile(dev)).header.policy, { platforms: [{ kind: 'sim', measurements: [] }] });
  const o = join(dir, 'never.enn');
  await assertBadInput(['split', mlp, '--private', '1', '-o', o, '--platform', 'gramine-sgx'], /--platform gramine-sgx needs --mrenclave or --mrsigner/, [o, `${o}.key`]);
  await assertBadInput(['split', mlp, '--private', '1', '-o', o, '--platform', 'gramine-sgx', '--mrenclave', 'abc'], /--mrenclave must be 32 bytes of hex, got 'abc'/, [o, `${o}.key`]);
  await assertBadInput(['split', mlp, '--private', '1', '-o', o, '--platform', 'gramine-sgx', '--mrsigner', s, '--min-svn', '70000'], /--min-svn must be an integer in 0\.\.65535/, [o, `${o}.key`]);
  await assertBadInput(['split', mlp, '--private', '1', '-o', o, '--mrenclave', a], /are for --platform gramine-sgx/, [o, `${o}.key`]);
  await assertBadInput(['split', mlp, '--private', '1', '-o', o, '--platform', 'tdx'], /--platform must be sim or gramine-sgx/, [o, `${o}.key`]);
});

test('admin models add takes the same measurement words (checked before any request)', async () => {
  const key = join(dir, 'sgx.enn.key');
  const r = await runMain(['admin', 'models', 'add', key, '--platform', 'gramine-sgx', '--mrsigner', 'zz', '--token', 't', '--server', 'http://127.0.0.1:9']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /Cannot run 'admin models add': --mrsigner must be 32 bytes of hex, got 'zz'/);
  const svn = await runMain(['admin', 'models', 'add', key, '--mrsigner', 'cc'.repeat(32), '--min-svn', 'x', '--token', 't', '--server', 'http://127.0.0.1:9']);
  assert.match(svn.stderr, /--min-svn must be an integer/);
});
