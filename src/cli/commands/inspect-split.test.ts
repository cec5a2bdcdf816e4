import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeModel, decodeModel } from '../../onnx/codec.ts';
import { mlpModel, cnnModel } from '../../onnx/models.testkit.ts';
import { runCli } from '../cli.testkit.ts';

const dir = mkdtempSync(join(tmpdir(), 'enn-cli-'));
const mlp = join(dir, 'mlp.onnx');
writeFileSync(mlp, encodeModel(mlpModel()));
const cnn = join(dir, 'cnn.onnx');
writeFileSync(cnn, encodeModel(cnnModel()));

test('inspect prints one row per layer with shapes, params, flops and cuts', () => {
  const r = runCli(['inspect', cnn]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /conv1\s+Conv\+Relu\s+\[N,4,12,12\]\s+40\s+160\s+10\.4k\s+r1 \(k=4\)/);
  assert.match(r.stdout, /fc\s+Gemm\s+\[N,10\]\s+1\.4k\s+5\.8k\s+2\.9k\s+logits \(k=1\)/);
  const j = JSON.parse(runCli(['inspect', cnn, '--json']).stdout);
  assert.deepEqual(j.layers.map((l: { name: string }) => l.name), ['conv1', 'pool1', 'flatten', 'fc', 'softmax']);
  assert.equal(j.totals.paramCount, 36 + 4 + 1440 + 10);
});

test('split --private writes head and tail that are valid ONNX and verifies them', () => {
  const head = join(dir, 'h.onnx');
  const tail = join(dir, 't.onnx');
  const r = runCli(['split', mlp, '--private', '2', '--head', head, '--tail', tail]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /2 private layer\(s\) from 'dense2'; cut: h1 float32\[batch,32\]; verified/);
  assert.equal(decodeModel(readFileSync(tail)).graph!.node[0]!.name, 'dense2/Gemm');
  assert.equal(decodeModel(readFileSync(head)).graph!.output[0]!.name, 'h1');
});

function assertBadInput(args: string[], pattern: RegExp, noFiles: string[]) {
  const r = runCli(args);
  assert.equal(r.code, 2, `exit code for ${args.join(' ')}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.match(lines[0]!, pattern);
  assert.ok(lines.length <= 2, `one error line (plus usage at most), got: ${r.stderr}`);
  for (const f of noFiles) assert.ok(!existsSync(f), `${f} must not be written`);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temporary files left');
}

test('bad input: one line naming the file and the reason, exit 2, nothing written', () => {
  const h = join(dir, 'bad-h.onnx');
  const t = join(dir, 'bad-t.onnx');
  const notOnnx = join(dir, 'not.onnx');
  writeFileSync(notOnnx, 'this is not a protobuf at all, just text\n');
  assertBadInput(['split', notOnnx, '--private', '1', '--head', h, '--tail', t], /not\.onnx: not (a valid protobuf|an ONNX model)/, [h, t]);
  const truncated = join(dir, 'truncated.onnx');
  const bytes = readFileSync(mlp);
  writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  assertBadInput(['inspect', truncated], /truncated\.onnx/, []);
  assertBadInput(['split', mlp, '--at', 'no_such_layer', '--head', h, '--tail', t], /no layer or tensor named 'no_such_layer'; layers you can cut after: dense1, dense2/, [h, t]);
  assertBadInput(['split', mlp, '--private', '9', '--head', h, '--tail', t], /--private 9 is out of range; valid: 1\.\.3/, [h, t]);
  assertBadInput(['split', mlp, '--private', '0', '--head', h, '--tail', t], /out of range/, [h, t]);
  assertBadInput(['inspect', join(dir, 'missing.onnx')], /missing\.onnx: ENOENT/, []);
  const ro = mkdtempSync(join(tmpdir(), 'enn-ro-'));
  chmodSync(ro, 0o500);
  if (process.getuid?.() !== 0) { // root writes anywhere; the missing-folder case below covers it
    assertBadInput(['split', mlp, '--private', '1', '--head', join(ro, 'h.onnx'), '--tail', join(ro, 't.onnx')], /Cannot write .*h\.onnx/, [join(ro, 'h.onnx'), join(ro, 't.onnx')]);
  }
  assertBadInput(['split', mlp, '--private', '1', '--head', join(dir, 'no-such-dir', 'h.onnx'), '--tail', t], /Cannot write .*h\.onnx: ENOENT/, [t]);
});

test('a model with no possible cut is refused', () => {
  const empty = join(dir, 'empty.onnx');
  const m = mlpModel();
  m.graph!.node = [];
  m.graph!.output = m.graph!.input;
  writeFileSync(empty, encodeModel(m));
  assertBadInput(['split', empty, '--private', '1', '--head', join(dir, 'e-h.onnx'), '--tail', join(dir, 'e-t.onnx')], /no nodes, so there is no cut/, []);
});

test('unknown commands list the known ones', () => {
  const r = runCli(['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'; known: .*inspect.*split/);
});
