/**
 * Protocol conformance of the real trusted program (docs/enclave-protocol.md §6, §9): junk
 * frames, versions, states, payloads, tampered bundles, sealed blobs. Each case talks to a
 * spawned enclave over its pipes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readBundle } from '../bundle/read.ts';
import { createBundle } from '../bundle/create.ts';
import { randomBytes, wrapToX25519 } from '../crypto/index.ts';
import { isErrorCode } from '../errors.ts';
import { encodeModel } from '../onnx/codec.ts';
import { mlpModel, seededRandom } from '../onnx/models.testkit.ts';
import { insecureDevKeyProvider } from '../runtime/insecure-dev-key.ts';
import { bundleOfSplit, everySplit, useTempEnclaveHome } from '../runtime/support.testkit.ts';
import { EnclaveProcess } from './host.ts';
import { encodeProvisionPayload, provisionTranscript } from '../enclave-protocol/provision-transcript.ts';
import {
  ERROR_CODES, MSG, PayloadReader, PayloadWriter, decodeError, encodeFrame, encodeHello, frameBytes, type Frame,
} from '../enclave-protocol/index.ts';

useTempEnclaveHome();
const quiet = { onStderr: () => undefined };
let nextId = 1000;

async function send(e: EnclaveProcess, type: number, payload: Uint8Array[]): Promise<Frame> {
  const id = nextId++;
  const answer = e.expect(id);
  e.writeRaw(frameBytes(encodeFrame(type, id, payload)));
  const f = await answer;
  assert.equal(f.id, id, 'the answer carries the request id');
  return f;
}

function errorName(f: Frame): string {
  assert.equal(f.type, MSG.ERROR, `expected an ERROR frame, got type 0x${f.type.toString(16)}`);
  return decodeError(new PayloadReader(f.body)).name;
}

async function mlpBundle() {
  const { splits } = await everySplit(mlpModel());
  return bundleOfSplit(splits[1]!, { chunkSize: 1024 });
}

test('HELLO with no common version is refused; the enclave stays in state new and accepts a good HELLO', async () => {
  const e = await EnclaveProcess.start({ ...quiet, hello: false });
  try {
    assert.equal(errorName(await send(e, MSG.FORWARD, new PayloadWriter().u16(0).finish())), 'STATE', 'nothing before HELLO');
    assert.equal(errorName(await send(e, MSG.HELLO, encodeHello({ minVersion: 2, maxVersion: 9 }))), 'VERSION');
    assert.equal(errorName(await send(e, MSG.HELLO, encodeHello({ minVersion: 0, maxVersion: 0 }))), 'VERSION');
    const ok = await send(e, MSG.HELLO, encodeHello({ minVersion: 1, maxVersion: 3 }));
    assert.equal(ok.type, 0x81);
    assert.equal(errorName(await send(e, MSG.HELLO, encodeHello({ minVersion: 1, maxVersion: 1 }))), 'STATE', 'a second HELLO');
  } finally {
    await e.close();
  }
});

test('junk frames: unknown and reserved types, response types and random payloads get defined error frames', async () => {
  const e = await EnclaveProcess.start(quiet);
  try {
    const rand = seededRandom(42);
    const known = new Set<number>(Object.values(MSG));
    for (let i = 0; i < 60; i++) {
      const type = Math.floor(rand() * 256);
      const payload = Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
      if (type === MSG.CLOSE) continue;
      const f = await send(e, type, [payload]);
      if (!known.has(type) || type === MSG.ERROR) assert.equal(errorName(f), 'UNKNOWN_TYPE', `type 0x${type.toString(16)}`);
      else assert.ok(f.type === MSG.ERROR || f.type === (type | 0x80), `type 0x${type.toString(16)} answered`);
    }
    for (const t of [0x10, 0x1f, 0x3f, 0x81, 0x86, 0xff]) assert.equal(errorName(await send(e, t, [])), 'UNKNOWN_TYPE');
    assert.ok(e.alive);
    const st = await e.status();
    assert.equal(st.state, 'hello');
  } finally {
    await e.close();
  }
});

test('states and payloads: FORWARD before LOAD, PROVISION without ATTEST, short nonce, trailing bytes', async () => {
  const e = await EnclaveProcess.start(quiet);
  try {
    assert.equal(errorName(await send(e, MSG.FORWARD, new PayloadWriter().u16(0).finish())), 'STATE');
    await assert.rejects(e.provision('m', new Uint8Array(100)), (err) => isErrorCode(err, 'ENCLAVE_STATE'));
    await assert.rejects(e.attest(new Uint8Array(8)), (err) => isErrorCode(err, 'ENCLAVE_BAD_PAYLOAD'));
    assert.equal(errorName(await send(e, MSG.STATUS, [new Uint8Array(1)])), 'BAD_PAYLOAD');
    await assert.rejects(e.load(new Uint8Array(10), new Uint8Array(64), []), (err) => isErrorCode(err, 'ENCLAVE_STATE'));
    await assert.rejects(e.unseal(randomBytes(80)), (err) => isErrorCode(err, 'ENCLAVE_SEAL'));
  } finally {
    await e.close();
  }
});

test('PROVISION refuses a wrap for another nonce, model id or key; a good one then loads and forwards', async () => {
  const { bytes, providerKey } = await mlpBundle();
  const bundle = readBundle(bytes);
  const modelId = bundle.header.modelId;
  const e = await EnclaveProcess.start(quiet);
  try {
    const nonce = randomBytes(32);
    const { publicKey, evidence } = await e.attest(nonce);
    const payload = encodeProvisionPayload({ modelKey: providerKey.modelKey, license: new Uint8Array(0) });
    const wrap = (ctx: { nonce?: Uint8Array; modelId?: string }, pub = publicKey) =>
      wrapToX25519(pub, payload, provisionTranscript({ modelId: ctx.modelId ?? modelId, nonce: ctx.nonce ?? nonce, evidence }));
    const other = (await EnclaveProcess.start(quiet));
    const otherPub = (await other.attest(nonce)).publicKey;
    await other.close();
    for (const [what, w] of [['nonce', wrap({ nonce: randomBytes(32) })], ['model id', wrap({ modelId: 'other' })], ['enclave key', wrap({}, otherPub)]] as const) {
      await assert.rejects(e.provision(modelId, w), (err) => isErrorCode(err, 'ENCLAVE_PROVISION'), `another ${what}`);
    }
    await assert.rejects(e.provision('other', wrap({})), (err) => isErrorCode(err, 'ENCLAVE_PROVISION'), 'model id in the request differs from the wrap');
    await e.provision(modelId, wrap({}));
    await assert.rejects(e.provision(modelId, wrap({})), (err) => isErrorCode(err, 'ENCLAVE_STATE'), 'one provisioning per attestation');
    await e.load(bundle.headerBytes, bundle.signature, bundle.sealedTail.chunks);
    const r = await e.forward({ h1: { dtype: 'float32', dims: [2, 32], data: new Float32Array(64).fill(0.5) } });
    assert.deepEqual(r.outputs.y!.dims, [2, 4]);
    assert.ok(r.computeNs > 0n && r.computeNs < r.roundTripNs);
    await assert.rejects(e.forward({ h1: { dtype: 'float32', dims: [2, 31], data: new Float32Array(62) } }), (err) => isErrorCode(err, 'ENCLAVE_INPUT'));
    await assert.rejects(e.forward({ h2: { dtype: 'float32', dims: [2, 32], data: new Float32Array(64) } }), (err) => isErrorCode(err, 'ENCLAVE_INPUT'));
  } finally {
    await e.close();
  }
});

test('LOAD refuses a bundle of another model than the one provisioned (BUNDLE, naming both ids); its own model then loads', async () => {
  const a = await mlpBundle();
  const b = await mlpBundle();
  const bundleA = readBundle(a.bytes);
  const bundleB = readBundle(b.bytes);
  assert.notEqual(bundleA.header.modelId, bundleB.header.modelId);
  const e = await EnclaveProcess.start(quiet);
  try {
    await insecureDevKeyProvider(a.providerKey).provision(e, bundleA);
    // The model-id check must refuse at LOAD_BEGIN, before the key commitment would (another K).
    await assert.rejects(e.load(bundleB.headerBytes, bundleB.signature, bundleB.sealedTail.chunks),
      (err) => isErrorCode(err, 'ENCLAVE_BUNDLE') && (err as Error).message.includes(`it is model '${bundleB.header.modelId}', but this enclave was provisioned for '${bundleA.header.modelId}'`));
    assert.equal((await e.status()).state, 'provisioned');
    await e.load(bundleA.headerBytes, bundleA.signature, bundleA.sealedTail.chunks);
    assert.equal((await e.status()).state, 'ready');
  } finally {
    await e.close();
  }
});

test('LOAD refuses a tampered header, reordered/dropped/duplicated/modified chunks and a policy without this platform', async () => {
  const { bytes, providerKey } = await mlpBundle();
  const bundle = readBundle(bytes);
  assert.ok(bundle.sealedTail.chunks.length >= 3, 'needs several chunks');
  const keys = insecureDevKeyProvider(providerKey);
  const e = await EnclaveProcess.start(quiet);
  const provision = () => keys.provision(e, bundle);
  const c = bundle.sealedTail.chunks;
  try {
    await provision();
    const header = bundle.headerBytes.slice();
    header[header.length - 3]! ^= 1;
    await assert.rejects(e.load(header, bundle.signature, c), (err) => isErrorCode(err, 'ENCLAVE_BUNDLE') && /signature/.test((err as Error).message));
    const flipped = c[1]!.slice(); flipped[5]! ^= 0x80;
    const cases: [string, Uint8Array[]][] = [
      ['reordered', [c[1]!, c[0]!, ...c.slice(2)]],
      ['dropped', [c[0]!, ...c.slice(2)]],
      ['duplicated', [c[0]!, c[0]!, ...c.slice(1)]],
      ['modified', [c[0]!, flipped, ...c.slice(2)]],
      ['truncated', c.slice(0, -1)],
    ];
    for (const [what, chunks] of cases) {
      await assert.rejects(e.load(bundle.headerBytes, bundle.signature, chunks), (err) => isErrorCode(err, 'ENCLAVE_DECRYPT'), what);
      const st = await e.status();
      assert.notEqual(st.state, 'ready', `${what}: not loaded`);
      // Whatever was pipelined after the failure hit state `provisioned`; back to a clean start.
      if (st.state === 'loading') assert.fail(`${what}: still loading`);
    }
    await e.load(bundle.headerBytes, bundle.signature, c);
    assert.equal((await e.status()).state, 'ready');
  } finally {
    await e.close();
  }
  // A bundle whose policy accepts only gramine-sgx.
  const { splits } = await everySplit(mlpModel());
  const s = splits[0]!;
  const g = createBundle({
    head: encodeModel(s.head!), tail: encodeModel(s.tail), inputs: s.cutTensors, outputs: s.tailOutputs, headInputs: s.inputs,
    policy: { platforms: [{ kind: 'gramine-sgx', measurements: ['00'.repeat(32)] }] }, bucketMinSize: 4096,
  });
  const gb = readBundle(g.bytes);
  const e2 = await EnclaveProcess.start(quiet);
  try {
    await insecureDevKeyProvider(g.providerKey).provision(e2, gb);
    await assert.rejects(e2.load(gb.headerBytes, gb.signature, gb.sealedTail.chunks), (err) => isErrorCode(err, 'ENCLAVE_POLICY'));
  } finally {
    await e2.close();
  }
});

test('SEAL/UNSEAL: a blob opens in a new enclave of the same program and installation, not when modified', async () => {
  const { bytes, providerKey } = await mlpBundle();
  const bundle = readBundle(bytes);
  const a = await EnclaveProcess.start(quiet);
  let blob: Uint8Array;
  try {
    await insecureDevKeyProvider(providerKey).provision(a, bundle);
    blob = await a.seal();
  } finally {
    await a.close();
  }
  const b = await EnclaveProcess.start(quiet);
  try {
    const bad = blob.slice(); bad[bad.length - 1]! ^= 1;
    await assert.rejects(b.unseal(bad), (err) => isErrorCode(err, 'ENCLAVE_SEAL'));
    assert.equal(await b.unseal(blob), bundle.header.modelId);
    await b.load(bundle.headerBytes, bundle.signature, bundle.sealedTail.chunks);
    assert.equal((await b.status()).state, 'ready');
  } finally {
    await b.close();
  }
});

test('bad frame lengths get BAD_FRAME with id 0 and a clean exit', async () => {
  for (const length of [0xfffffff0, 3, 0x04000001]) {
    const e = await EnclaveProcess.start(quiet);
    const answer = e.expect(0);
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setUint32(0, length, true);
    e.writeRaw(prefix);
    const f = await answer;
    assert.equal(errorName(f), 'BAD_FRAME', `length ${length}`);
    assert.deepEqual(await e.exited(), { code: 0, signal: null });
  }
});

test('a truncated frame followed by end of input ends the enclave cleanly (no hang)', async () => {
  const e = await EnclaveProcess.start(quiet);
  const whole = frameBytes(encodeFrame(MSG.ATTEST, 7, [new Uint8Array(100)]));
  e.writeRaw(whole.subarray(0, 20));
  e.endInput();
  assert.deepEqual(await e.exited(), { code: 0, signal: null });
  await assert.rejects(e.status(), (err) => isErrorCode(err, 'ENCLAVE_DIED'));
});

test('error codes are the numbers of the spec\'s table (docs/enclave-protocol.md §6), every one of them', () => {
  const spec = readFileSync(new URL('../../docs/enclave-protocol.md', import.meta.url), 'utf8');
  const section = spec.slice(spec.indexOf('## 6. Errors'), spec.indexOf('\n## 7.'));
  const table = Object.fromEntries([...section.matchAll(/^\| (\d+) \| `([A-Z_]+)` \|/gm)].map((m) => [m[2]!, Number(m[1])]));
  assert.ok(Object.keys(table).length >= 16, 'the §6 table was found');
  assert.deepEqual({ ...ERROR_CODES }, table);
});

test('unknown platform or engine names are refused before spawning, listing the known ones; a launcher wraps the start', async () => {
  await assert.rejects(EnclaveProcess.start({ ...quiet, platform: 'tdx' }), (err) => isErrorCode(err, 'PLATFORM_UNKNOWN') && /known: sim/.test((err as Error).message));
  await assert.rejects(EnclaveProcess.start({ ...quiet, engine: 'tpu' }), (err) => isErrorCode(err, 'ENGINE_UNKNOWN') && /known: ort, wasm/.test((err as Error).message));
  let seen: string[] = [];
  const e = await EnclaveProcess.start({ ...quiet, engine: 'wasm', launcher: (program, args) => { seen = args; return { file: process.execPath, args: ['--no-warnings', program, ...args] }; } });
  try {
    assert.deepEqual(seen, ['--platform', 'sim', '--engine', 'wasm']);
    assert.equal(e.hello.engine, 'wasm');
    assert.equal(e.hello.platformKind, 'sim');
    assert.equal(e.hello.measurement.byteLength, 32);
  } finally {
    await e.close();
  }
});

test('a hung enclave times out with ENCLAVE_TIMEOUT and is stopped', async () => {
  const e = await EnclaveProcess.start(quiet);
  e.kill('SIGSTOP');
  await assert.rejects(e.call(MSG.STATUS, [], 300), (err) => isErrorCode(err, 'ENCLAVE_TIMEOUT'));
  const { signal } = await e.exited();
  assert.equal(signal, 'SIGKILL');
  assert.equal(e.alive, false);
  await assert.rejects(e.status(), (err) => isErrorCode(err, 'ENCLAVE_DIED'));
});
