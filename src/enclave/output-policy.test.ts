/**
 * Output policies (issue 16 item 1; docs/bundle-format.md §5.6): sealed with the tail, enforced
 * by the real enclave process (sim platform), compared against ORT on the unsplit model.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleBundle, createBundle } from '../bundle/create.ts';
import { readBundle } from '../bundle/read.ts';
import { TailOpener } from '../bundle/tail.ts';
import { parseOutputPolicy, policyOutputSpecs } from '../bundle/output-policy.ts';
import { randomBytes, wrapToX25519 } from '../crypto/index.ts';
import { encodeProvisionPayload, provisionTranscript } from '../enclave-protocol/provision-transcript.ts';
import { isErrorCode } from '../errors.ts';
import { makeModel, node, tensor } from '../onnx/build.ts';
import { encodeModel } from '../onnx/codec.ts';
import { randomFeeds, runOnnx, type TensorData } from '../onnx/ort.ts';
import { mlpModel, randomFloats, seededRandom } from '../onnx/models.testkit.ts';
import { runMain } from '../cli/cli.testkit.ts';
import { Session } from '../runtime/session.ts';
import { everySplit, useTempEnclaveHome } from '../runtime/support.testkit.ts';
import { EnclaveProcess } from './host.ts';
import { reverseSigmoid } from './trusted/output-policy.ts';

useTempEnclaveHome();
const quiet = { onStderr: () => undefined };
const BATCH = 32;
const C = 4;
let enclave: EnclaveProcess;
before(async () => { enclave = await EnclaveProcess.start(quiet); });
after(async () => { await enclave.close(); });

const model = mlpModel();
const feeds = randomFeeds([{ name: 'x', dtype: 'float32', shape: ['batch', 16] }], BATCH, seededRandom(16));
const want = runOnnx(model, feeds).then((o) => o.y!.data as Float32Array);

async function bundleWith(outputPolicy: string, privateLayers = 1) {
  const { splits } = await everySplit(model);
  const split = splits.find((s) => s.cut.privateLayers === privateLayers)!;
  return createBundle({
    head: split.head ? encodeModel(split.head) : new Uint8Array(0), tail: encodeModel(split.tail),
    inputs: split.cutTensors, outputs: split.tailOutputs, headInputs: split.inputs, bucketMinSize: 4096, chunkSize: 1024, outputPolicy,
  });
}

async function runWith(outputPolicy: string): Promise<{ out: Record<string, TensorData>; header: ReturnType<typeof readBundle>['header'] }> {
  const { bytes, providerKey } = await bundleWith(outputPolicy);
  const session = await Session.create({ bundle: bytes, keySource: { kind: 'insecure-dev-key', providerKey }, enclaveProcess: enclave });
  try {
    return { out: await session.run(feeds), header: session.bundle.header };
  } finally {
    await session.close();
  }
}

const row = (a: Float32Array, i: number) => Array.from(a.subarray(i * C, (i + 1) * C));
const argmaxOf = (r: number[]) => r.reduce((b, v, c) => (v > r[b]! ? c : b), 0);

test('label: the enclave answers int64 [batch] labels equal to the argmax of the unsplit model; the header says int64 [batch]', async () => {
  const { out, header } = await runWith('label');
  assert.deepEqual(header.outputs, [{ name: 'y', dtype: 'int64', shape: ['batch'] }]);
  const y = await want;
  assert.equal(out.y!.dtype, 'int64');
  assert.deepEqual(out.y!.dims, [BATCH]);
  const labels = Array.from(out.y!.data as BigInt64Array, Number);
  assert.deepEqual(labels, Array.from({ length: BATCH }, (_, i) => argmaxOf(row(y, i))));
  assert.ok(new Set(labels).size > 1, 'the random inputs reach more than one class');
});

test('top-k:3: classes and probabilities equal the unsplit model\'s top 3, descending', async () => {
  const { out, header } = await runWith('top-k:3');
  assert.deepEqual(header.outputs.map((s) => [s.name, s.dtype, s.shape]), [['y', 'float32', ['batch', 3]], ['y_classes', 'int64', ['batch', 3]]]);
  const y = await want;
  assert.deepEqual(out.y!.dims, [BATCH, 3]);
  for (let i = 0; i < BATCH; i++) {
    const r = row(y, i);
    const top = r.map((v, c) => [v, c] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, 3);
    assert.deepEqual(Array.from((out.y_classes!.data as BigInt64Array).subarray(i * 3, i * 3 + 3), Number), top.map((t) => t[1]), `row ${i} classes`);
    const probs = Array.from((out.y!.data as Float32Array).subarray(i * 3, i * 3 + 3));
    probs.forEach((p, j) => assert.ok(Math.abs(p - top[j]![0]) <= 1e-5, `row ${i} probability ${j}: ${p} vs ${top[j]![0]}`));
  }
});

test('round:2: the enclave answers the unsplit probabilities rounded to 2 decimals', async () => {
  const { out, header } = await runWith('round:2');
  assert.deepEqual(header.outputs, [{ name: 'y', dtype: 'float32', shape: ['batch', C] }]);
  const y = await want;
  const got = out.y!.data as Float32Array;
  assert.equal(got.length, y.length);
  let changed = 0;
  for (let i = 0; i < y.length; i++) {
    assert.ok(Math.abs(got[i]! * 100 - Math.round(got[i]! * 100)) < 1e-3, `value ${i} = ${got[i]} has 2 decimals`);
    assert.ok(Math.abs(got[i]! - y[i]!) <= 0.005 + 1e-6, `value ${i}: ${got[i]} is ${y[i]} rounded`);
    if (got[i] !== y[i]) changed++;
  }
  assert.ok(changed > y.length / 2, 'the answers are rounded, not the raw probabilities');
});

test('perturb:reverse-sigmoid keeps every argmax, answers probability rows, and changes the probabilities', async () => {
  const { out } = await runWith('perturb:reverse-sigmoid:0.7:0.5');
  const y = await want;
  const got = out.y!.data as Float32Array;
  let maxDiff = 0;
  for (let i = 0; i < BATCH; i++) {
    const r = row(got, i);
    assert.equal(argmaxOf(r), argmaxOf(row(y, i)), `row ${i}: the top-1 label is kept`);
    assert.ok(Math.abs(r.reduce((a, b) => a + b, 0) - 1) < 1e-5 && r.every((v) => v >= 0), `row ${i} is a probability vector`);
    r.forEach((v, c) => { maxDiff = Math.max(maxDiff, Math.abs(v - y[i * C + c]!)); });
  }
  assert.ok(maxDiff > 0.01, `the probabilities changed (max abs diff ${maxDiff})`);
});

test('the policy is sealed: its string is not in the bundle\'s clear part (header, head); the opener reads it back', async () => {
  const { bytes, providerKey } = await bundleWith('perturb:reverse-sigmoid:0.7:0.5');
  const b = readBundle(bytes);
  const clear = Buffer.concat([b.headerBytes, b.head]);
  for (const s of ['reverse-sigmoid', 'perturb', '0.7']) assert.equal(clear.indexOf(s), -1, `'${s}' is not in the clear part`);
  const whole = Buffer.from(bytes);
  assert.equal(whole.indexOf('reverse-sigmoid'), -1, 'nor anywhere in the file (it is inside the ciphertext)');
  const o = new TailOpener(b, providerKey.modelKey);
  for (const c of b.sealedTail.chunks) o.push(c);
  o.finish();
  assert.deepEqual(o.outputPolicy, { kind: 'reverse-sigmoid', beta: 0.7, gamma: 0.5 });
});

test('a tampered policy is refused: modified ciphertext like any tail tamper; an authenticated bad record as unreadable', async () => {
  const { bytes, providerKey } = await bundleWith('label');
  const b = readBundle(bytes);
  const { splits } = await everySplit(model);
  const split = splits.find((x) => x.cut.privateLayers === 1)!;
  const tail = encodeModel(split.tail);
  // The record follows the tail in the padded plaintext (u64 length ‖ tail ‖ record): flip its version byte's ciphertext.
  const at = 8 + tail.byteLength;
  const chunks = b.sealedTail.chunks.map((c) => Uint8Array.from(c));
  chunks[Math.floor(at / 1024)]![at % 1024]! ^= 1;
  const e = await EnclaveProcess.start(quiet);
  try {
    await provision(e, b.header.modelId, providerKey.modelKey);
    await assert.rejects(e.load(b.headerBytes, b.signature, chunks), (err) => isErrorCode(err, 'ENCLAVE_DECRYPT'), 'a modified chunk is refused');
  } finally {
    await e.close();
  }
  // A broken writer: the record authenticates but names an unknown policy ('label' → 'lapel').
  const secrets = { modelKey: randomBytes(32), signingKey: randomBytes(32), noncePrefix: randomBytes(7) };
  const broken = assembleBundle({
    head: encodeModel(split.head!), tail, inputs: split.cutTensors, outputs: split.tailOutputs, headInputs: split.inputs, bucketMinSize: 4096, chunkSize: 1024, outputPolicy: 'label',
  }, { ...secrets, insecureMutatePadded: (p) => { p[8 + tail.byteLength + 3 + 2] = 'p'.charCodeAt(0); } });
  const bb = readBundle(broken.bytes);
  const o = new TailOpener(bb, secrets.modelKey);
  for (const c of bb.sealedTail.chunks) o.push(c);
  assert.throws(() => o.finish(), (err) => isErrorCode(err, 'BUNDLE_OUTPUT_POLICY') && !/lapel|label/.test((err as Error).message));
  const e2 = await EnclaveProcess.start(quiet);
  try {
    await provision(e2, bb.header.modelId, secrets.modelKey);
    await assert.rejects(e2.load(bb.headerBytes, bb.signature, bb.sealedTail.chunks),
      (err) => isErrorCode(err, 'ENCLAVE_DECRYPT') && !/lapel|label/.test((err as Error).message), 'the enclave refuses it too, without its contents');
  } finally {
    await e2.close();
  }
});

async function provision(e: EnclaveProcess, modelId: string, modelKey: Uint8Array): Promise<void> {
  const nonce = randomBytes(32);
  const { publicKey, evidence } = await e.attest(nonce);
  const payload = encodeProvisionPayload({ modelKey, license: new Uint8Array(0) });
  await e.provision(modelId, wrapToX25519(publicKey, payload, provisionTranscript({ modelId, nonce, evidence })));
}

test('policy strings: unknown or out-of-range ones are refused; regression outputs allow round:D only', () => {
  for (const bad of ['labels', 'top-k:0', 'top-k:x', 'top-k', 'round:7', 'round:-1', 'perturb:mad:1', 'perturb:reverse-sigmoid:0', 'perturb:reverse-sigmoid:1e3', 'label:1']) {
    assert.throws(() => parseOutputPolicy(bad), (e) => isErrorCode(e, 'OUTPUT_POLICY'), bad);
  }
  const reg = [{ name: 'price', dtype: 'float32' as const, shape: ['batch', 1] }];
  assert.deepEqual(policyOutputSpecs(parseOutputPolicy('round:3'), reg), reg);
  for (const p of ['label', 'top-k:1', 'perturb:reverse-sigmoid:0.5']) {
    assert.throws(() => policyOutputSpecs(parseOutputPolicy(p), reg), (e) => isErrorCode(e, 'OUTPUT_POLICY') && /regression/.test((e as Error).message), p);
  }
  assert.throws(() => policyOutputSpecs(parseOutputPolicy('top-k:5'), [{ name: 'y', dtype: 'float32', shape: ['batch', 4] }]), /exceeds the 4 classes/);
});

// In-process through main(); split's real-process test is in src/cli/conventions.test.ts.
test('CLI: split --output-policy label writes a label bundle; an unknown policy or a regression model exits 2 with one line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enn-policy-'));
  const mlp = join(dir, 'mlp.onnx');
  writeFileSync(mlp, encodeModel(model));
  const ok = await runMain(['split', mlp, '--private', '1', '-o', join(dir, 'a.enn'), '--output-policy', 'label']);
  assert.equal(ok.code, 0, ok.stderr);
  const bad = await runMain(['split', mlp, '--private', '1', '-o', join(dir, 'b.enn'), '--output-policy', 'top-k:banana']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /output policy 'top-k:banana'.*K is not an integer/);
  const r = seededRandom(3);
  const regression = makeModel({
    name: 'reg', inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 4] }], outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 1] }],
    nodes: [node('Gemm', ['x', 'w', 'b'], ['h'], {}, 'd1/Gemm'), node('Relu', ['h'], ['h1'], {}, 'd1/Relu'), node('Gemm', ['h1', 'w2', 'b2'], ['y'], {}, 'd2/Gemm')],
    initializers: [tensor('w', 'float32', [4, 8], randomFloats(32, r)), tensor('b', 'float32', [8], randomFloats(8, r)), tensor('w2', 'float32', [8, 1], randomFloats(8, r)), tensor('b2', 'float32', [1], randomFloats(1, r))],
  });
  const reg = join(dir, 'reg.onnx');
  writeFileSync(reg, encodeModel(regression));
  const refused = await runMain(['split', reg, '--private', '1', '-o', join(dir, 'c.enn'), '--output-policy', 'label']);
  assert.equal(refused.code, 2, refused.stderr);
  assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
  assert.match(refused.stderr, /regression output\): only round:D applies/);
  assert.equal((await runMain(['split', reg, '--private', '1', '-o', join(dir, 'd.enn'), '--output-policy', 'round:2'])).code, 0);
  // Two columns of logits, not probabilities: the reverse sigmoid is refused.
  const logits = makeModel({ ...regressionSpec(r), name: 'logits' });
  const lg = join(dir, 'logits.onnx');
  writeFileSync(lg, encodeModel(logits));
  const noProbs = await runMain(['split', lg, '--private', '1', '-o', join(dir, 'e.enn'), '--output-policy', 'perturb:reverse-sigmoid:0.5']);
  assert.equal(noProbs.code, 2, noProbs.stderr);
  assert.match(noProbs.stderr, /is not a probability vector/);
  assert.equal((await runMain(['split', mlp, '--private', '1', '-o', join(dir, 'f.enn'), '--output-policy', 'perturb:reverse-sigmoid:0.5'])).code, 0, 'a softmax model takes it');
});

test('reverse sigmoid: the formula of Lee et al. 2019 on one row; a β that would flip the top-1 label is clamped to keep it', () => {
  const y = Float32Array.of(0.6, 0.3, 0.1);
  const [beta, gamma] = [0.7, 0.5];
  const s = (x: number) => 1 / (1 + Math.exp(-x));
  const z = Array.from(y, (v) => Math.min(1, Math.max(0, v - beta * (s(gamma * Math.log(v / (1 - v))) - 0.5))));
  const sum = z.reduce((a, b) => a + b, 0);
  Array.from(reverseSigmoid(y, beta, gamma)).forEach((v, c) => assert.ok(Math.abs(v - z[c]! / sum) < 1e-6, `class ${c}: ${v} vs ${z[c]! / sum}`));
  // β = 3, γ = 1: y − 3(y − ½) = [0.3, 0.9, 1.3] → clipped [0.3, 0.9, 1]: class 2 would win; the enclave keeps class 0.
  const flipped = reverseSigmoid(y, 3, 1);
  assert.equal(argmaxOf(Array.from(flipped)), 0);
  assert.ok(Math.abs(flipped.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  assert.ok(Math.abs(flipped[0]! - 1 / 2.2) < 1e-6 && Math.abs(flipped[2]! - 0.3 / 2.2) < 1e-6, 'the two entries are swapped');
});

/** x[batch,4] → Gemm → y[batch,2] without softmax: logits. */
function regressionSpec(r: () => number): Parameters<typeof makeModel>[0] {
  return {
    name: 'logits', inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 4] }], outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }],
    nodes: [node('Gemm', ['x', 'w', 'b'], ['h'], {}, 'd1/Gemm'), node('Relu', ['h'], ['h1'], {}, 'd1/Relu'), node('Gemm', ['h1', 'w2', 'b2'], ['y'], {}, 'd2/Gemm')],
    initializers: [tensor('w', 'float32', [4, 8], randomFloats(32, r)), tensor('b', 'float32', [8], randomFloats(8, r)), tensor('w2', 'float32', [8, 2], randomFloats(16, r, 3)), tensor('b2', 'float32', [2], randomFloats(2, r))],
  };
}
