/**
 * Issue 11 item 2: the enclave meters samples, so every cut tensor must carry the same batch
 * size (docs/enclave-protocol.md §4.5). On a residual tail Add(s, b), s with 1,000 rows and b
 * with 1 row would broadcast to 1,000 real outputs for 1 counted sample; the enclave refuses
 * that with INPUT before the engine runs, and counts nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBundle } from '../bundle/create.ts';
import { readBundle } from '../bundle/read.ts';
import { isErrorCode } from '../errors.ts';
import { makeModel, node } from '../onnx/build.ts';
import { encodeModel } from '../onnx/codec.ts';
import type { TensorData } from '../onnx/ort.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';
import { residualModel } from '../onnx/models.testkit.ts';
import { insecureDevKeyProvider } from '../runtime/insecure-dev-key.ts';
import { bundleOfSplit, everySplit, useTempEnclaveHome } from '../runtime/support.testkit.ts';
import { EnclaveProcess } from './host.ts';

useTempEnclaveHome();

const rows = (n: number, width = 8): TensorData => ({ dtype: 'float32', dims: [n, width], data: new Float32Array(n * width).fill(0.25) });
const sampleCount = async (e: EnclaveProcess): Promise<number> => (await e.status()).sampleCount as number;

async function loaded(bundleBytes: Uint8Array, providerKey: Parameters<typeof insecureDevKeyProvider>[0]): Promise<EnclaveProcess> {
  const bundle = readBundle(bundleBytes);
  const e = await EnclaveProcess.start({ onStderr: () => undefined });
  await insecureDevKeyProvider(providerKey).provision(e, bundle);
  await e.load(bundle.headerBytes, bundle.signature, bundle.sealedTail.chunks);
  return e;
}

/** Forwards `feeds` expecting INPUT naming the batch mismatch; nothing is counted. */
async function refused(e: EnclaveProcess, feeds: Record<string, TensorData>): Promise<void> {
  const before = await sampleCount(e);
  await assert.rejects(e.forward(feeds), (err) => isErrorCode(err, 'ENCLAVE_INPUT') && /batch size/.test((err as Error).message), JSON.stringify(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, t.dims]))));
  assert.equal(await sampleCount(e), before, 'a refused FORWARD counts nothing');
}

test('a DAG tail with two cut tensors (residual Add): batch sizes must agree, else INPUT before the engine; the agreed batch is counted', async () => {
  const { splits } = await everySplit(residualModel());
  const split = splits.find((s) => s.cutTensors.map((t) => t.name).join(',') === 's,b');
  assert.ok(split, 'the residual model has a cut carrying s and b');
  const { bytes, providerKey } = bundleOfSplit(split);
  const e = await loaded(bytes, providerKey);
  try {
    await refused(e, { s: rows(1000), b: rows(1) });
    await refused(e, { s: rows(1), b: rows(1000) });
    await refused(e, { s: rows(3), b: rows(2) });
    const r = await e.forward({ s: rows(3), b: rows(3) });
    assert.deepEqual(r.outputs.y!.dims, [3, 3]);
    assert.equal(await sampleCount(e), 3, 'three samples counted');
  } finally {
    await e.close();
  }
});

test('a tail whose batch dimensions have other symbolic names (and differ between cut tensors) is checked the same way', async () => {
  // Tail: y = Add(s, b), z = m; s[samples, 4], b[unk__7, 4], m[unk__7, samples]: none is called
  // "batch", and m carries a batch name in its second dimension too.
  const inputs: TensorSpec[] = [
    { name: 's', dtype: 'float32', shape: ['samples', 4] }, { name: 'b', dtype: 'float32', shape: ['unk__7', 4] },
    { name: 'm', dtype: 'float32', shape: ['unk__7', 'samples'] },
  ];
  const outputs: TensorSpec[] = [{ name: 'y', dtype: 'float32', shape: ['samples', 4] }, { name: 'z', dtype: 'float32', shape: ['unk__7', 'samples'] }];
  const tail = makeModel({ name: 'add-tail', inputs, outputs, nodes: [node('Add', ['s', 'b'], ['y'], {}, 'add/Add'), node('Identity', ['m'], ['z'], {}, 'id/Identity')], initializers: [] });
  const { bytes, providerKey } = createBundle({ head: new Uint8Array(0), tail: encodeModel(tail), inputs, outputs, headInputs: inputs, bucketMinSize: 4096, chunkSize: 4096 });
  const e = await loaded(bytes, providerKey);
  try {
    await refused(e, { s: rows(1000, 4), b: rows(1, 4), m: rows(1000, 1000) });
    await refused(e, { s: rows(1, 4), b: rows(1000, 4), m: rows(1, 1) });
    await refused(e, { s: rows(5, 4), b: rows(5, 4), m: rows(5, 7) });
    await e.forward({ s: rows(5, 4), b: rows(5, 4), m: rows(5, 5) });
    assert.equal(await sampleCount(e), 5);
  } finally {
    await e.close();
  }
});

test('a fixed first dimension (a shape tensor in the cut) is no batch: the symbolic batch is what is counted', async () => {
  // Tail: y = Reshape(x, shp); x[N, 4], shp int64[2] (as a head's Shape/Concat would compute it).
  const inputs: TensorSpec[] = [{ name: 'x', dtype: 'float32', shape: ['N', 4] }, { name: 'shp', dtype: 'int64', shape: [2] }];
  const outputs: TensorSpec[] = [{ name: 'y', dtype: 'float32', shape: ['N', 4] }];
  const tail = makeModel({ name: 'reshape-tail', inputs, outputs, nodes: [node('Reshape', ['x', 'shp'], ['y'], {}, 'r/Reshape')], initializers: [] });
  const { bytes, providerKey } = createBundle({ head: new Uint8Array(0), tail: encodeModel(tail), inputs, outputs, headInputs: inputs, bucketMinSize: 4096, chunkSize: 4096 });
  const e = await loaded(bytes, providerKey);
  try {
    await e.forward({ x: rows(8, 4), shp: { dtype: 'int64', dims: [2], data: BigInt64Array.of(8n, 4n) } });
    assert.equal(await sampleCount(e), 8, 'eight samples, not the shape tensor\'s 2');
  } finally {
    await e.close();
  }
});
