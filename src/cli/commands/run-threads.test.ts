/**
 * `run --ort-threads N` (and serve's, parsed the same way): the enclave starts with N intra-op
 * threads, the answers are the unsplit model's, and a bad N is one clear line before anything runs.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnclaveProcess, type EnclaveStartOptions } from '../../enclave/host.ts';
import { encodeModel } from '../../onnx/codec.ts';
import { maxAbsDiff, runOnnx } from '../../onnx/ort.ts';
import { cnnModel } from '../../onnx/models.testkit.ts';
import { readNpy, writeNpy } from '../../runtime/npy.ts';
import { runMain } from '../cli.testkit.ts';

const dir = mkdtempSync(join(tmpdir(), 'enn-run-threads-'));
process.env.ENCLAVE_NN_HOME = join(dir, 'home');
const image = { dtype: 'float32' as const, dims: [2, 1, 12, 12], data: Float32Array.from({ length: 288 }, (_, i) => Math.sin(i / 5)) };
writeFileSync(join(dir, 'cnn.onnx'), encodeModel(cnnModel()));
writeFileSync(join(dir, 'x.npy'), writeNpy(image));
before(async () => {
  const split = await runMain(['split', join(dir, 'cnn.onnx'), '--private', '2', '-o', join(dir, 'cnn.enn')]);
  assert.equal(split.code, 0, `split failed: ${split.stderr}`);
});

test('run --ort-threads 1: every enclave it starts gets 1 thread, and the outputs are the unsplit model\'s', async () => {
  const seen: (number | undefined)[] = [];
  const start = EnclaveProcess.start.bind(EnclaveProcess);
  EnclaveProcess.start = (o: EnclaveStartOptions = {}) => { seen.push(o.ortThreads); return start(o); };
  try {
    const r = await runMain(['run', join(dir, 'cnn.enn'), '--input', join(dir, 'x.npy'), '--output', join(dir, 'y.npy'), '--insecure-dev-key', join(dir, 'cnn.enn.key'), '--ort-threads', '1']);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    EnclaveProcess.start = start;
  }
  assert.ok(seen.length >= 1 && seen.every((t) => t === 1), `threads asked of each enclave: ${JSON.stringify(seen)}`);
  const want = (await runOnnx(cnnModel(), { image })).probs!;
  assert.ok(maxAbsDiff(readNpy(readFileSync(join(dir, 'y.npy'))), want) <= 1e-5);
});

test('a bad --ort-threads is one clear line (and the usage), exit 2, for run and serve alike', async () => {
  for (const cmd of ['run', 'serve'] as const) {
    for (const bad of ['0', '1000', 'two', '1.5']) {
      const r = await runMain([cmd, join(dir, 'cnn.enn'), ...(cmd === 'run' ? ['--input', join(dir, 'x.npy')] : []), '--insecure-dev-key', join(dir, 'cnn.enn.key'), '--ort-threads', bad]);
      assert.equal(r.code, 2, `${cmd} --ort-threads ${bad}: ${r.stderr}`);
      // The one error line, then (a usage error) the command's usage for reference.
      const lines = r.stderr.trim().split('\n').filter((l) => l && !l.includes('INSECURE'));
      assert.match(lines[1] ?? '', /^usage: enclave-nn /, r.stderr);
      assert.match(lines[0]!, new RegExp(`Cannot run '${cmd}': --ort-threads must be an integer (≥ 1|in 1\\.\\.999), got '${bad.replace('.', '\\.')}'`));
    }
  }
});
