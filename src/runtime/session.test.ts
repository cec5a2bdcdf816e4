/**
 * Acceptance (issue 4): every split of the test models and of ../shared/models/onnx, through a
 * real enclave process, equals ORT on the unsplit model (max abs diff ≤ 1e-5), batch 1 and 8
 * (fixed-batch models at their batch), with both engines. One enclave per bundle.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelProto } from 'onnx-buf';
import { isErrorCode } from '../errors.ts';
import { loadModelFile } from '../onnx/codec.ts';
import { maxAbsDiff, randomFeeds, runOnnx, type TensorData } from '../onnx/ort.ts';
import { TEST_MODELS, mlpModel, seededRandom } from '../onnx/models.testkit.ts';
import { EnclaveProcess } from '../enclave/host.ts';
import { Session } from './session.ts';
import { bundleOfSplit, childNodeProcesses, everySplit, useTempEnclaveHome } from './support.testkit.ts';

const home = useTempEnclaveHome();
const SHARED_ONNX = new URL('../../../shared/models/onnx/', import.meta.url).pathname;
const quiet = { onStderr: () => undefined };

interface Case { label: string; model: () => ModelProto; allowShared: boolean }

const cases: Case[] = Object.entries(TEST_MODELS).map(([name, m]) => ({ label: name, model: m.build, allowShared: name === 'shared_weight' }));
const sharedFiles = existsSync(SHARED_ONNX)
  ? ['mnist_mlp_pytorch113_dynbatch.onnx', 'mnist-8_cntk.onnx', 'lenet5_pytorch13_batch10.onnx', 'zuramai_extdata/mnist.onnx'].filter((f) => existsSync(join(SHARED_ONNX, f)))
  : [];

function batchesOf(model: ModelProto): number[] {
  const first = model.graph!.input[0]!.type?.value.case === 'tensorType' ? model.graph!.input[0]!.type.value.value.shape?.dim[0] : undefined;
  const fixed = first?.value.case === 'dimValue' ? Number(first.value.value) : null;
  return fixed ? [fixed] : [1, 8];
}

async function checkEverySplit(label: string, model: ModelProto, engine: string, allowShared: boolean): Promise<number> {
  const { view, splits } = await everySplit(model, allowShared);
  const batches = batchesOf(model);
  const data = batches.map((b) => {
    const feeds = randomFeeds(view.inputs, b, seededRandom(b * 31 + 7));
    return { b, feeds, want: runOnnx(model, feeds) };
  });
  let checked = 0;
  for (const split of splits) {
    const { bytes, providerKey } = bundleOfSplit(split);
    const session = await Session.create({ bundle: bytes, keySource: { kind: 'insecure-dev-key', providerKey }, engine, enclaveProcess: shared.get(engine) });
    try {
      for (const { b, feeds, want } of data) {
        const w = await want;
        const got = await session.run(feeds);
        for (const name of Object.keys(w)) {
          assert.ok(got[name], `${label} k=${split.cut.privateLayers} ${engine} batch ${b}: output ${name} missing`);
          const d = maxAbsDiff(got[name]!, w[name]!);
          assert.ok(d <= 1e-5, `${label} k=${split.cut.privateLayers} ${engine} batch ${b} output ${name}: max abs diff ${d}`);
        }
        checked++;
      }
    } finally {
      await session.close();
    }
  }
  return checked;
}

// One enclave per engine, re-provisioned for each bundle (docs/enclave-protocol.md §1).
const shared = new Map<string, EnclaveProcess>();
after(async () => { for (const e of shared.values()) await e.close(); });

for (const engine of ['ort', 'wasm']) {
  before(async () => { shared.set(engine, await EnclaveProcess.start({ engine, ...quiet })); });
  test(`${engine}: every split of every test model through the enclave equals the unsplit model`, async () => {
    for (const c of cases) {
      const n = await checkEverySplit(c.label, c.model(), engine, c.allowShared);
      assert.ok(n >= 1, `${c.label}: no split checked`);
    }
  });
  test(`${engine}: every split of the ONNX models in ../shared/models/onnx equals the unsplit model`, { skip: sharedFiles.length === 0 && 'needs ../shared/models/onnx' }, async () => {
    for (const f of sharedFiles) {
      const n = await checkEverySplit(f, loadModelFile(join(SHARED_ONNX, f)), engine, false);
      assert.ok(n >= 1, `${f}: no split checked`);
    }
  });
}

test('SIGKILL during a forward: the run fails with ENCLAVE_DIED, the next run succeeds from the sealed state', async () => {
  const model = mlpModel();
  const { view, splits } = await everySplit(model);
  const { bytes, providerKey } = bundleOfSplit(splits[1]!);
  const session = await Session.create({ bundle: bytes, keySource: { kind: 'insecure-dev-key', providerKey }, enclave: quiet });
  try {
    const feeds = randomFeeds(view.inputs, 8, seededRandom(5));
    const want = await runOnnx(model, feeds);
    const first = session.enclaveProcess!;
    // Freeze it, write the FORWARD frame, then kill it: the request is in flight and cannot have
    // been answered (without the SIGSTOP a fast tail sometimes answers before the kill lands).
    const forward = first.forward.bind(first);
    first.forward = (f) => { first.kill('SIGSTOP'); const p = forward(f); first.kill('SIGKILL'); return p; };
    const pending = session.run(feeds);
    await assert.rejects(pending, (e) => isErrorCode(e, 'ENCLAVE_DIED') && /SIGKILL/.test((e as Error).message));
    const got = await session.run(feeds);
    assert.ok(maxAbsDiff(got.y!, want.y!) <= 1e-5);
    assert.equal(session.starts, 2);
    assert.equal(session.startup!.via, 'unsealed', 'restarted offline from the sealed blob');
    assert.notEqual(session.enclaveProcess!.pid, first.pid);
    const st = await session.status();
    assert.equal(st.state, 'ready');
  } finally {
    await session.close();
  }
});

test('a restart whose sealed state no longer opens re-provisions through the key provider', async () => {
  const model = mlpModel();
  const { view, splits } = await everySplit(model);
  const { bytes, providerKey } = bundleOfSplit(splits[0]!);
  const session = await Session.create({ bundle: bytes, keySource: { kind: 'insecure-dev-key', providerKey }, enclave: quiet });
  try {
    rmSync(join(home, 'insecure-sim', 'seal-secret')); // a new installation secret: old blobs no longer open
    session.enclaveProcess!.kill('SIGKILL');
    await session.enclaveProcess!.exited();
    const feeds = randomFeeds(view.inputs, 1, seededRandom(9));
    const got = await session.run(feeds);
    assert.ok(maxAbsDiff(got.y!, (await runOnnx(model, feeds)).y!) <= 1e-5);
    assert.equal(session.startup!.via, 'provisioned');
  } finally {
    await session.close();
  }
});

test('wrong input names, dtypes and shapes are refused with one clear line before reaching the enclave', async () => {
  const { splits } = await everySplit(mlpModel());
  const { bytes, providerKey } = bundleOfSplit(splits[0]!);
  const session = await Session.create({ bundle: bytes, keySource: { kind: 'insecure-dev-key', providerKey }, enclave: quiet });
  try {
    const f32 = (dims: number[]): TensorData => ({ dtype: 'float32', dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) });
    await assert.rejects(session.run({ x: f32([1, 15]) }), (e) => isErrorCode(e, 'INPUT') && /input 'x' has shape \[1,15\], expected \[batch,16\]/.test((e as Error).message));
    await assert.rejects(session.run({ z: f32([1, 16]) }), (e) => isErrorCode(e, 'INPUT') && /unknown input 'z'/.test((e as Error).message));
    await assert.rejects(session.run({ x: { dtype: 'int32', dims: [1, 16], data: new Int32Array(16) } }), /is int32, expected float32/);
    const st = await session.status();
    assert.equal(st.forwardCount, 0);
  } finally {
    await session.close();
  }
});

test('a provider key for another bundle is refused', async () => {
  const running = childNodeProcesses(); // the file's shared enclaves
  const { splits } = await everySplit(mlpModel());
  const a = bundleOfSplit(splits[0]!);
  const b = bundleOfSplit(splits[0]!);
  await assert.rejects(Session.create({ bundle: a.bytes, keySource: { kind: 'insecure-dev-key', providerKey: b.providerKey }, enclave: quiet }),
    (e) => isErrorCode(e, 'DEV_KEY_MODEL'));
  // Same model id, other key: the enclave's key commitment check refuses it.
  await assert.rejects(Session.create({ bundle: a.bytes, keySource: { kind: 'insecure-dev-key', providerKey: { ...b.providerKey, modelId: a.providerKey.modelId } }, enclave: quiet }),
    (e) => isErrorCode(e, 'ENCLAVE_BUNDLE') && /not this bundle's key/.test((e as Error).message));
  assert.deepEqual(childNodeProcesses(), running, 'each refused session shut its enclave down');
});

test('a shared enclave serves sessions in turn and stays up on close; when it dies, a session starts its own', async () => {
  const model = mlpModel();
  const { view, splits } = await everySplit(model);
  const feeds = randomFeeds(view.inputs, 2, seededRandom(11));
  const want = (await runOnnx(model, feeds)).y!;
  const e = await EnclaveProcess.start(quiet);
  try {
    for (const split of splits.slice(0, 2)) {
      const { bytes, providerKey } = bundleOfSplit(split);
      const s = await Session.create({ bundle: bytes, keySource: { kind: 'insecure-dev-key', providerKey }, enclaveProcess: e, enclave: quiet });
      assert.equal(s.enclaveProcess, e);
      assert.ok(maxAbsDiff((await s.run(feeds)).y!, want) <= 1e-5);
      await s.close();
      assert.ok(e.alive, 'the shared enclave outlives the session');
    }
    const { bytes, providerKey } = bundleOfSplit(splits[2]!);
    const s = await Session.create({ bundle: bytes, keySource: { kind: 'insecure-dev-key', providerKey }, enclaveProcess: e, enclave: quiet });
    try {
      e.kill('SIGKILL');
      await e.exited();
      assert.ok(maxAbsDiff((await s.run(feeds)).y!, want) <= 1e-5);
      assert.notEqual(s.enclaveProcess, e);
      assert.equal(s.startup!.via, 'unsealed');
    } finally {
      await s.close();
    }
  } finally {
    await e.close();
  }
});
