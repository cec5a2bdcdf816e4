/**
 * The host's bounded polling after FORWARD (docs/enclave-protocol.md §1 "Serving loop"): the
 * answers it reads are the event loop's answers, and an enclave that dies while the host polls
 * is the usual clean ENCLAVE_DIED.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readBundle } from '../bundle/read.ts';
import { isErrorCode } from '../errors.ts';
import { mlpModel } from '../onnx/models.testkit.ts';
import { insecureDevKeyProvider } from '../runtime/insecure-dev-key.ts';
import { bundleOfSplit, everySplit, useTempEnclaveHome } from '../runtime/support.testkit.ts';
import { availableParallelism } from 'node:os';
import { EnclaveProcess, pollMsOf, type EnclaveStartOptions } from './host.ts';
import type { TensorData } from '../onnx/ort.ts';

useTempEnclaveHome();

async function readyEnclave(options: EnclaveStartOptions): Promise<EnclaveProcess> {
  const { splits } = await everySplit(mlpModel());
  const { bytes, providerKey } = bundleOfSplit(splits[0]!);
  const bundle = readBundle(bytes);
  const e = await EnclaveProcess.start({ onStderr: () => undefined, ...options });
  await insecureDevKeyProvider(providerKey).provision(e, bundle);
  await e.load(bundle.headerBytes, bundle.signature, bundle.sealedTail.chunks);
  return e;
}

const feed = (v: number): Record<string, TensorData> => ({ h2: { dtype: 'float32', dims: [2, 32], data: new Float32Array(64).map((_, i) => v + i / 64) } });

test('answers read by polling equal the event loop\'s, and polling catches them', async () => {
  // 200 ms: far longer than an MLP's answer takes even on a loaded machine, so the poll sees it.
  const polled = await readyEnclave({ pollMs: 200 });
  const plain = await readyEnclave({ pollMs: 0 });
  try {
    for (let i = 0; i < 5; i++) {
      const a = await polled.forward(feed(i));
      const b = await plain.forward(feed(i));
      assert.deepEqual(a.outputs, b.outputs, `call ${i}`);
    }
    assert.ok(polled.polls.answered >= 4, `polled answers: ${JSON.stringify(polled.polls)}`);
    assert.deepEqual(plain.polls, { answered: 0, fellBack: 0 }, 'pollMs 0: no polling');
    // Other requests interleave with polled FORWARDs in order (STATUS goes through the event loop).
    const [s, f] = await Promise.all([polled.status(), polled.forward(feed(9))]);
    assert.equal(s.state, 'ready');
    assert.deepEqual(f.outputs, (await plain.forward(feed(9))).outputs);
  } finally {
    await polled.close();
    await plain.close();
  }
});

test('a FORWARD larger than the pipe is not polled while its bytes wait in the stream', async () => {
  // 2 MiB: far more than a pipe buffer (64 KiB), so the first write leaves most of it queued for
  // the event loop; a poll started then would block that loop for its whole 200 ms, then fall back.
  const e = await readyEnclave({ pollMs: 200 });
  try {
    const rows = 16384;
    const big: Record<string, TensorData> = { h2: { dtype: 'float32', dims: [rows, 32], data: new Float32Array(rows * 32).map((_, i) => (i % 97) / 97) } };
    await e.forward(feed(0));
    const before = { ...e.polls };
    const r = await e.forward(big);
    assert.equal(r.outputs.y!.dims[0], rows);
    assert.deepEqual(e.polls, before, 'no poll for a frame still being written');
    await e.forward(feed(1));
    assert.equal(e.polls.answered + e.polls.fellBack, before.answered + before.fellBack + 1, 'small frames are polled again');
  } finally {
    await e.close();
  }
});

test('an enclave killed while the host polls is a clean ENCLAVE_DIED', async () => {
  const e = await readyEnclave({ pollMs: 1000 });
  const pid = e.pid!;
  // Stopped, the enclave cannot answer: the host keeps polling until the kill closes the pipe.
  process.kill(pid, 'SIGSTOP');
  const killer = spawn('/bin/sh', ['-c', `sleep 0.15; kill -9 ${pid}`], { stdio: 'ignore' });
  const killed = new Promise((resolve) => killer.on('close', resolve));
  const t0 = performance.now();
  await assert.rejects(e.forward(feed(1)), (err) => isErrorCode(err, 'ENCLAVE_DIED') && /signal SIGKILL/.test((err as Error).message));
  const waited = performance.now() - t0;
  await killed;
  assert.equal(e.alive, false);
  assert.equal(e.polls.answered, 0);
  assert.ok(waited >= 100, `the poll ran while the enclave was stopped (${waited.toFixed(0)} ms)`);
  await assert.rejects(e.forward(feed(2)), (err) => isErrorCode(err, 'ENCLAVE_DIED'), 'later calls fail at once');
});

test('pollMs and ortThreads are checked before anything is spawned', async () => {
  await assert.rejects(EnclaveProcess.start({ pollMs: -1 }), RangeError);
  await assert.rejects(EnclaveProcess.start({ pollMs: Number.NaN }), RangeError);
  await assert.rejects(EnclaveProcess.start({ ortThreads: 0 }), RangeError);
});

test('the host polls by default only when the enclave\'s threads leave a core free', () => {
  const cores = availableParallelism();
  assert.equal(pollMsOf(undefined, 1), cores > 1 ? 1 : 0, 'one enclave thread: poll on a second core');
  assert.equal(pollMsOf(undefined, cores), 0, 'as many enclave threads as cores: the host must not spin on one of them');
  assert.equal(pollMsOf(undefined), 0, "unset = onnxruntime's default, one thread per core");
  assert.equal(pollMsOf(0.5, cores), 0.5, 'an explicit pollMs is kept');
});

test('FORWARD fast path: one write per frame, layouts may change between calls, answers unchanged', async () => {
  const writes: number[] = [];
  const e = await readyEnclave({ pollMs: 0, onTraffic: (dir) => { if (dir === 'out') writes.push(1); } });
  try {
    const one = (v: number): Record<string, TensorData> => ({ h2: { dtype: 'float32', dims: [1, 32], data: feed(v).h2!.data.slice(0, 32) } });
    const results: Record<string, TensorData>[] = [];
    for (const f of [feed(1), feed(2), one(1), feed(1), one(2)]) {
      writes.length = 0;
      results.push((await e.forward(f)).outputs);
      assert.equal(writes.length, 1, 'the whole FORWARD frame in one write');
    }
    // Batch 2 then batch 1 then batch 2 again: each layout's answers agree with the others'.
    assert.deepEqual(results[3], results[0], 'same feeds after a layout change, same answer');
    const row0 = (r: Record<string, TensorData>) => Array.from(r.y!.data as Float32Array).slice(0, 4);
    assert.deepEqual(Array.from(results[2]!.y!.data as Float32Array), row0(results[0]!), 'batch 1 = row 0 of batch 2');
    assert.deepEqual(Array.from(results[4]!.y!.data as Float32Array), row0(results[1]!));
  } finally {
    await e.close();
  }
});
