/**
 * Issue 13 item 4: a batch whose cut tensor exceeds the enclave protocol's 64 MiB frame goes
 * through in several FORWARDs, and the outputs equal the unsplit model's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameReader, MAX_FRAME_SIZE, MSG } from '../enclave-protocol/frame.ts';
import { maxAbsDiff, runOnnx } from '../onnx/ort.ts';
import { randomFloats, seededRandom, wideCutModel } from '../onnx/models.testkit.ts';
import { splitModel } from '../split/extract.ts';
import { Session } from './session.ts';
import { bundleOfSplit, useTempEnclaveHome } from './support.testkit.ts';

useTempEnclaveHome();

test('300 rows of a 256 KiB-per-row cut (75 MiB) run in two FORWARDs and equal the unsplit model', async () => {
  const model = wideCutModel();
  const split = await splitModel(model, { privateLayers: 1 });
  assert.deepEqual(split.cutTensors.map((t) => t.shape), [['N', 65536]]);
  const { bytes, providerKey } = bundleOfSplit(split, { chunkSize: 1 << 20 });
  // The host's writes, parsed as the enclave parses them: the length L of every FORWARD frame.
  const forwards: number[] = [];
  const wire = new FrameReader();
  const session = await Session.create({
    bundle: bytes, keySource: { kind: 'insecure-dev-key', providerKey },
    enclave: { onStderr: () => undefined, onTraffic: (dir, b) => { if (dir === 'out') for (const f of wire.push(b)) if (f.type === MSG.FORWARD) forwards.push(f.body.byteLength); } },
  });
  try {
    const rows = 300;
    const x = { dtype: 'float32' as const, dims: [rows, 4], data: randomFloats(rows * 4, seededRandom(3)) };
    assert.ok(rows * 65536 * 4 > MAX_FRAME_SIZE, 'the test input must exceed the frame limit');
    const per = await session.rowsPerFrame({ x });
    assert.ok(per < rows && per >= 200, `rows per frame ${per}`);
    const got = await session.run({ x });
    const want = await runOnnx(model, { x });
    assert.deepEqual(got.y!.dims, [rows, 3]);
    assert.ok(maxAbsDiff(got.y!, want.y!) <= 1e-5, `max abs diff ${maxAbsDiff(got.y!, want.y!)}`);
    assert.deepEqual(forwards.length, 2, `FORWARD frames: ${forwards.join(', ')}`);
    assert.ok(forwards.every((L) => L <= MAX_FRAME_SIZE));
    // A batch that fits is one FORWARD, as before.
    forwards.length = 0;
    const small = await session.run({ x: { ...x, dims: [5, 4], data: x.data.subarray(0, 20) } });
    assert.ok(maxAbsDiff(small.y!, { ...want.y!, dims: [5, 3], data: want.y!.data.subarray(0, 15) }) <= 1e-5);
    assert.equal(forwards.length, 1);
  } finally {
    await session.close();
  }
});
