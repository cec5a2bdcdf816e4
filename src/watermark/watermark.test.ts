/**
 * The answer watermark (issue 16 item 3; docs/bundle-format.md §5.7, docs/watermark.md): sealed
 * with the tail, applied by the real enclave process (sim platform) before the output policy,
 * learned by a substitute trained on the enclave's answers, recognised by `watermark verify`.
 *
 * Every bundle here is sealed with fixed secrets ({@link bundleWith}): the watermark keys, the
 * null keys and so every verdict are the same on every run. With random keys a model that never
 * saw the mark is called a copy with probability alpha (1e-3) by design, so a test that drew
 * fresh keys would fail about 1 run in 1000 for no fault of the code.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stealTail } from '../attack/attacker.ts';
import { publicQuery } from '../attack/evaluate.ts';
import { gaussianInputs, linearTailModel } from '../attack/support.testkit.ts';
import type { AttackSurface } from '../attack/types.ts';
import { assembleBundle } from '../bundle/create.ts';
import { decodeProviderKeyFile, encodeProviderKeyFile } from '../bundle/provider-key.ts';
import { readBundle } from '../bundle/read.ts';
import { TailOpener } from '../bundle/tail.ts';
import type { ProviderKey } from '../bundle/types.ts';
import { encodeWatermarkRecord, parseWatermarkRate, WatermarkKey, type WatermarkConfig } from '../bundle/watermark.ts';
import { runCli, runMain } from '../cli/cli.testkit.ts';
import { sha256 } from '../crypto/index.ts';
import { toHex } from '../util/encoding.ts';
import { isErrorCode } from '../errors.ts';
import { makeModel, node, tensor } from '../onnx/build.ts';
import { encodeModel } from '../onnx/codec.ts';
import { runOnnx, type TensorData } from '../onnx/ort.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';
import { writeNpy } from '../runtime/npy.ts';
import { Session } from '../runtime/session.ts';
import { useTempEnclaveHome } from '../runtime/support.testkit.ts';
import { splitModel, type SplitResult } from '../split/extract.ts';
import { EnclaveProcess } from '../enclave/host.ts';
import { judgeWatermark, markData } from './verify.ts';

useTempEnclaveHome();
const quiet = { onStderr: () => undefined };
const C = 4;
const RATE = 0.2;
const model = linearTailModel();
const calibrationX = gaussianInputs(1000, 8, 5);
const attackerX = gaussianInputs(3000, 8, 1);
const providerX = gaussianInputs(2000, 8, 7);
let enclave: EnclaveProcess;
let split: SplitResult;
before(async () => {
  enclave = await EnclaveProcess.start(quiet);
  split = await splitModel(model, { privateLayers: 1 });
});
after(async () => { await enclave.close(); });

const head = () => encodeModel(split.head!);
const cutOf = async (x: TensorData) => runOnnx(head(), { x }, split.cutTensors.map((t) => t.name));

/** Fixed secrets of test bundle `n` (32-byte model and signing keys, 7-byte nonce prefix), the same on every run. */
function fixedSecrets(n: number) {
  const bytes = (what: string, size: number) => sha256(new TextEncoder().encode(`watermark.test ${what} ${n}`)).subarray(0, size);
  return { modelKey: bytes('model key', 32), signingKey: bytes('signing key', 32), noncePrefix: bytes('nonce prefix', 7) };
}

/** The model split at k = 1 and sealed as test bundle `n` (another n: another model key, so another watermark key). */
async function bundleWith(n: number, o: { watermark?: boolean; outputPolicy?: string; inputs?: TensorSpec[] } = {}, mutate?: (padded: Uint8Array) => void) {
  return assembleBundle({
    head: head(), tail: encodeModel(split.tail), inputs: o.inputs ?? split.cutTensors, outputs: split.tailOutputs, headInputs: split.inputs,
    bucketMinSize: 4096, chunkSize: 1024, outputPolicy: o.outputPolicy, modelId: `wm-test-${n}`,
    watermark: o.watermark === false ? undefined : { rate: RATE, calibration: await cutOf(calibrationX) },
  }, { ...fixedSecrets(n), insecureMutatePadded: mutate });
}

/** The watermark sealed in a bundle (null for none), as the provider reads it with the model key. */
function sealedWatermark(bytes: Uint8Array, providerKey: ProviderKey): WatermarkConfig | null {
  const bundle = readBundle(bytes);
  const opener = new TailOpener(bundle, providerKey.modelKey);
  for (const c of bundle.sealedTail.chunks) opener.push(c);
  opener.finish();
  return opener.watermark;
}

/** The sealed configuration and the key, as the provider recovers them with the model key. */
function keyed(bytes: Uint8Array, providerKey: ProviderKey): { config: WatermarkConfig; key: WatermarkKey } {
  const config = sealedWatermark(bytes, providerKey);
  assert.ok(config, 'the bundle carries a watermark');
  return { config, key: WatermarkKey.derive(providerKey.modelKey, readBundle(bytes).header.inputs, config.classes) };
}

async function runEnclave(bytes: Uint8Array, providerKey: ProviderKey, x: TensorData): Promise<TensorData> {
  const session = await Session.create({ bundle: bytes, keySource: { kind: 'insecure-dev-key', providerKey }, enclaveProcess: enclave });
  try {
    return (await session.run({ x })).probs!;
  } finally {
    await session.close();
  }
}

const argmax = (r: ArrayLike<number>) => { let b = 0; for (let c = 1; c < r.length; c++) if (r[c]! > r[b]!) b = c; return b; };
const rowOf = (t: TensorData, i: number) => Array.from((t.data as Float32Array).subarray(i * C, (i + 1) * C));

test('through the enclave: the marked fraction answers the keyed label with the top-1 probability swapped in; every other row equals the unsplit model', async () => {
  const { bytes, providerKey } = await bundleWith(1);
  const { config, key } = keyed(bytes, providerKey);
  assert.equal(config.rate, RATE);
  assert.equal(config.classes, C);
  const x = gaussianInputs(600, 8, 9);
  const got = await runEnclave(bytes, providerKey, x);
  const want = (await runOnnx(model, { x })).probs!;
  const scores = key.scores(await cutOf(x));
  let marked = 0;
  for (let i = 0; i < 600; i++) {
    const g = rowOf(got, i);
    const w = rowOf(want, i);
    if (scores[i]! > config.threshold) {
      marked++;
      const c = argmax(w);
      const pi = key.permutation[c]!;
      assert.notEqual(pi, c);
      assert.equal(argmax(g), pi, `row ${i}: the answer's top class is the keyed label`);
      const swapped = [...w];
      [swapped[c], swapped[pi]] = [swapped[pi]!, swapped[c]!];
      g.forEach((v, j) => assert.ok(Math.abs(v - swapped[j]!) <= 1e-5, `row ${i} class ${j}: ${v} vs ${swapped[j]}`));
    } else {
      g.forEach((v, j) => assert.ok(Math.abs(v - w[j]!) <= 1e-5, `row ${i} (unmarked) class ${j}: ${v} vs ${w[j]}`));
    }
  }
  // The rate was set on other data of the same distribution: about RATE of these rows are marked.
  assert.ok(marked / 600 > RATE - 0.06 && marked / 600 < RATE + 0.06, `marked ${marked} of 600`);
});

test('composes with the label policy: marked rows answer π(argmax), the others argmax of the unsplit model', async () => {
  const { bytes, providerKey } = await bundleWith(2, { outputPolicy: 'label' });
  const { config, key } = keyed(bytes, providerKey);
  const x = gaussianInputs(300, 8, 10);
  const session = await Session.create({ bundle: bytes, keySource: { kind: 'insecure-dev-key', providerKey }, enclaveProcess: enclave });
  let labels: number[];
  try {
    labels = Array.from((await session.run({ x })).probs!.data as BigInt64Array, Number);
  } finally {
    await session.close();
  }
  const want = (await runOnnx(model, { x })).probs!;
  const scores = key.scores(await cutOf(x));
  const expected = Array.from({ length: 300 }, (_, i) => {
    const c = argmax(rowOf(want, i));
    return scores[i]! > config.threshold ? key.permutation[c]! : c;
  });
  assert.deepEqual(labels, expected);
});

/** Rows of `x` the bundle's key marks and rows it leaves alone, as the provider (the verify side) computes them with the key. */
async function markedRows(key: WatermarkKey, config: WatermarkConfig, x: TensorData): Promise<{ marked: number[]; unmarked: number[] }> {
  const scores = key.scores(await cutOf(x));
  const marked: number[] = [];
  const unmarked: number[] = [];
  scores.forEach((s, i) => (s > config.threshold ? marked : unmarked).push(i));
  return { marked, unmarked };
}

const round2 = (v: number) => Math.sign(v) * Math.round(Math.abs(v) * 100) / 100;

test('through the enclave under every output policy: a marked row answers π(c) as the top-1 of the policy\'s answer, an unmarked row the unsplit model\'s top-1; each policy\'s shape and dtype hold', async () => {
  const x = gaussianInputs(200, 8, 12);
  const want = (await runOnnx(model, { x })).probs!;
  const N = 200;
  for (const policy of ['probabilities', 'label', 'top-k:2', 'round:2', 'perturb:reverse-sigmoid:0.7:0.5']) {
    // One model key for all five: the same watermark key and threshold, so the same rows are marked under every policy.
    const { bytes, providerKey } = await bundleWith(1, { outputPolicy: policy });
    const { config, key } = keyed(bytes, providerKey);
    const { marked, unmarked } = await markedRows(key, config, x);
    assert.ok(marked.length >= 20 && unmarked.length >= 20, `${policy}: ${marked.length} marked, ${unmarked.length} unmarked rows`);
    const isMarked = new Set(marked);
    const session = await Session.create({ bundle: bytes, keySource: { kind: 'insecure-dev-key', providerKey }, enclaveProcess: enclave });
    let out: Record<string, TensorData>;
    try {
      out = await session.run({ x });
    } finally {
      await session.close();
    }
    /** The unsplit model's distribution of row i, with the watermark's swap applied when the key marks it. */
    const expected = (i: number) => {
      const w = rowOf(want, i);
      const c = argmax(w);
      if (!isMarked.has(i)) return { top: c, dist: w };
      const pi = key.permutation[c]!;
      assert.notEqual(pi, c);
      [w[c], w[pi]] = [w[pi]!, w[c]!];
      return { top: pi, dist: w };
    };
    const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-5, `${policy} ${what}: ${a} vs ${b}`);
    if (policy === 'label') {
      assert.deepEqual(Object.keys(out), ['probs']);
      assert.equal(out.probs!.dtype, 'int64');
      assert.deepEqual(out.probs!.dims, [N]);
      const labels = Array.from(out.probs!.data as BigInt64Array, Number);
      for (let i = 0; i < N; i++) assert.equal(labels[i], expected(i).top, `label row ${i} (${isMarked.has(i) ? 'marked' : 'unmarked'})`);
      continue;
    }
    if (policy === 'top-k:2') {
      assert.deepEqual(Object.keys(out).sort(), ['probs', 'probs_classes']);
      const [p, k] = [out.probs!, out.probs_classes!];
      assert.deepEqual([p.dtype, p.dims], ['float32', [N, 2]]);
      assert.deepEqual([k.dtype, k.dims], ['int64', [N, 2]]);
      for (let i = 0; i < N; i++) {
        const { top, dist } = expected(i);
        const classes = Array.from((k.data as BigInt64Array).subarray(i * 2, i * 2 + 2), Number);
        const second = argmax(dist.map((v, j) => (j === top ? -Infinity : v)));
        assert.deepEqual(classes, [top, second], `top-k row ${i} (${isMarked.has(i) ? 'marked' : 'unmarked'})`);
        close((p.data as Float32Array)[i * 2]!, dist[top]!, `row ${i} top-1 probability`);
        close((p.data as Float32Array)[i * 2 + 1]!, dist[second]!, `row ${i} top-2 probability`);
      }
      continue;
    }
    assert.deepEqual(Object.keys(out), ['probs']);
    const t = out.probs!;
    assert.deepEqual([t.dtype, t.dims], ['float32', [N, C]]);
    let changed = 0;
    for (let i = 0; i < N; i++) {
      const { top, dist } = expected(i);
      const g = rowOf(t, i);
      const where = `row ${i} (${isMarked.has(i) ? 'marked' : 'unmarked'})`;
      if (policy === 'round:2') {
        g.forEach((v, j) => { close(v, round2(dist[j]!), `${where} class ${j}`); close(v * 100, Math.round(v * 100), `${where} class ${j} has 2 decimals`); });
        // Rounding may tie the top two; the keyed label is then among the tied (argmax breaks ties to the lower index).
        assert.ok(g[top] === Math.max(...g), `${where}: the top-1 of the rounded answer is ${top}`);
        continue;
      }
      assert.equal(argmax(g), top, `${policy} ${where}: top-1`);
      if (policy === 'probabilities') g.forEach((v, j) => close(v, dist[j]!, `${where} class ${j}`));
      else {
        close(g.reduce((a, v) => a + v, 0), 1, `${where} sums to 1`);
        if (g.some((v, j) => Math.abs(v - dist[j]!) > 1e-3)) changed++;
      }
    }
    if (policy.startsWith('perturb')) assert.ok(changed > N / 2, `the reverse sigmoid changed ${changed} of ${N} rows`);
  }
});

test('the watermark is sealed: the header and the clear bytes show nothing of it; a malformed record is refused', async () => {
  const plain = await bundleWith(3, { watermark: false });
  const marked = await bundleWith(1);
  const a = readBundle(plain.bytes).header;
  const b = readBundle(marked.bytes).header;
  assert.deepEqual(Object.keys(b), Object.keys(a));
  assert.deepEqual([b.inputs, b.outputs, b.tail.paddedSize], [a.inputs, a.outputs, a.tail.paddedSize]);
  assert.ok(!new TextDecoder().decode(readBundle(marked.bytes).headerBytes).includes('watermark'));
  const { config } = keyed(marked.bytes, marked.providerKey);
  const record = encodeWatermarkRecord(config);
  const hay = Buffer.from(marked.bytes);
  assert.equal(hay.indexOf(Buffer.from(record.subarray(4, 20))), -1, 'the record (rate, threshold) is not in the clear');
  assert.equal(sealedWatermark(plain.bytes, plain.providerKey), null);
  // A writer that puts an unknown record version after the tail: the reader refuses (§5.7).
  const at = 8 + encodeModel(split.tail).byteLength + 1; // the version byte after the 'W' tag (no policy record before it)
  const broken = await bundleWith(5, {}, (p) => { p[at] = 2; });
  assert.throws(() => sealedWatermark(broken.bytes, broken.providerKey), (e) => isErrorCode(e, 'BUNDLE_WATERMARK'));
  assert.throws(() => parseWatermarkRate('0.7'), (e) => isErrorCode(e, 'WATERMARK'));
  assert.throws(() => parseWatermarkRate('1e-2'), (e) => isErrorCode(e, 'WATERMARK'));
});

test('LOAD refuses a sealed watermark that does not fit the cut or the tail, or whose record is truncated: one line, no secret, before any FORWARD; the enclave stays provisioned and a good bundle then loads', async () => {
  const good = await bundleWith(6); // the same n below: the same model id and key, so the enclave stays provisioned for the good one
  const { config } = keyed(good.bytes, good.providerKey);
  const record = encodeWatermarkRecord(config);
  const tailEnd = 8 + encodeModel(split.tail).byteLength; // the records start right after the tail (`probabilities` writes no policy record)
  const cut = split.cutTensors[0]!;
  const cases: { what: string; code: string; make: () => ReturnType<typeof bundleWith> }[] = [
    // The writer refuses these cuts; a broken writer seals the record anyway.
    { what: 'a cut with a symbolic dimension after the batch (v has no dimension)', code: 'ENCLAVE_BUNDLE', make: () => bundleWith(6, { watermark: false, inputs: [{ ...cut, shape: [cut.shape[0]!, 'D'] }] }, (p) => p.set(record, tailEnd)) },
    { what: 'a record for 5 classes on a 4-class tail (π of the wrong dimension)', code: 'ENCLAVE_BUNDLE', make: () => bundleWith(6, {}, (p) => { p[tailEnd + 3] = 5; }) },
    { what: 'a record for 5 classes on a 4-class tail under label', code: 'ENCLAVE_BUNDLE', make: () => bundleWith(6, { outputPolicy: 'label' }, (p) => { p[tailEnd + 8 + 3] = 5; }) }, // after the 8-byte policy record 1 ‖ u16 5 ‖ 'label'
    // The record cut off inside its threshold by the end of the padded plaintext: the length prefix moved so that the record is its last 12 bytes.
    { what: 'a record truncated inside its threshold', code: 'ENCLAVE_DECRYPT', make: () => bundleWith(6, { watermark: false }, (p) => {
      p.set(record.subarray(0, 12), p.byteLength - 12);
      new DataView(p.buffer, p.byteOffset).setBigUint64(0, BigInt(p.byteLength - 8 - 12), false);
    }) },
  ];
  const x = gaussianInputs(100, 8, 13);
  const secrets = [toHex(good.providerKey.modelKey), toHex(good.providerKey.signingKey), String(config.threshold), 'hidden', 'Gemm', 'Softmax', 'logits'];
  for (const { what, code, make } of cases) {
    const bad = await make();
    await assert.rejects(
      Session.create({ bundle: bad.bytes, keySource: { kind: 'insecure-dev-key', providerKey: bad.providerKey }, enclaveProcess: enclave }),
      (e: Error) => {
        assert.ok(isErrorCode(e, code), `${what}: ${(e as { code?: string }).code} ${e.message}`);
        assert.match(e.message, /^Cannot (load|open) bundle/, what);
        assert.ok(!e.message.includes('\n'), `${what}: one line: ${e.message}`);
        for (const s of secrets) assert.ok(!e.message.includes(s), `${what}: the message holds no secret or tail structure (${s}): ${e.message}`);
        return true;
      },
      `${what}: LOAD refuses it`,
    );
    const status = await enclave.status();
    assert.equal(status.state, 'provisioned', `${what}: nothing half-loaded stays`);
    assert.equal(status.forwardCount, 0, what);
    await assert.rejects(enclave.forward(await cutOf(x)), (e) => isErrorCode(e, 'ENCLAVE_STATE'), `${what}: no FORWARD after the refused LOAD`);
    // Still provisioned with the model key: a good bundle of the same model loads and answers, watermarked.
    const g = readBundle(good.bytes);
    await enclave.load(g.headerBytes, g.signature, g.sealedTail.chunks);
    const got = (await enclave.forward(await cutOf(x))).outputs.probs!;
    const want = (await runOnnx(model, { x })).probs!;
    const { key } = keyed(good.bytes, good.providerKey);
    const { marked } = await markedRows(key, config, x);
    for (let i = 0; i < 100; i++) {
      const c = argmax(rowOf(want, i));
      assert.equal(argmax(rowOf(got, i)), marked.includes(i) ? key.permutation[c]! : c, `${what}: then the good bundle answers row ${i}`);
    }
  }
});

/** Trains the attack's generic substitute on `Q` label answers of the enclave; its labels on the provider's data. */
async function substituteLabels(bytes: Uint8Array, providerKey: ProviderKey, seed: number): Promise<Int32Array> {
  const bundle = readBundle(bytes);
  const session = await Session.create({ bundle, keySource: { kind: 'insecure-dev-key', providerKey }, enclaveProcess: enclave });
  try {
    const h = bundle.header;
    const surface: AttackSurface = {
      head: bundle.head, header: { headInputs: h.headInputs, inputs: h.inputs, outputs: h.outputs },
      query: publicQuery((cut) => session.enclaveProcess!.forward(cut), h.outputs.map((t) => t.name), 'label'),
    };
    const [p] = await stealTail(surface, { data: { x: attackerX }, queries: [3000], mode: 'label', predictOn: { x: providerX }, seed });
    return p!.labels;
  } finally {
    await session.close();
  }
}

test('a substitute trained on the watermarked answers matches; one trained on unmarked answers and a wrong key do not', async () => {
  const wm = await bundleWith(1);
  const other = await bundleWith(4); // the same model sealed again: another model key, another watermark
  const plain = await bundleWith(3, { watermark: false });
  const m = await markData(readBundle(wm.bytes), wm.providerKey, providerX);
  const mOther = await markData(readBundle(other.bytes), other.providerKey, providerX);
  const judge = (md: typeof m, suspect: Int32Array) => judgeWatermark({ m: md, suspect });
  const stolen = await substituteLabels(wm.bytes, wm.providerKey, 3);
  const independent = await substituteLabels(plain.bytes, plain.providerKey, 4);
  const v = judge(m, stolen);
  assert.equal(v.verdict, 'match', JSON.stringify(v));
  assert.ok(v.agreeing / v.judged > 0.5, `the substitute learned the keyed labels on ${v.agreeing} of ${v.judged} judged rows`);
  const vi = judge(m, independent);
  assert.equal(vi.verdict, 'no match', JSON.stringify(vi));
  const vw = judge(mOther, stolen);
  assert.equal(vw.verdict, 'no match', JSON.stringify(vw));
});

/** An ONNX model that answers exactly as the watermarked enclave: the unsplit model, with the half-space and π built in. */
function exactCopy(key: WatermarkKey, config: WatermarkConfig) {
  const g = model.graph!;
  return encodeModel(makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'labels', dtype: 'int64', shape: ['N'] }],
    nodes: [
      ...g.node,
      node('ArgMax', ['probs'], ['top'], { axis: { int: 1 }, keepdims: { int: 0 } }),
      node('MatMul', ['h', 'wm/v'], ['wm/s2']),
      node('Squeeze', ['wm/s2', 'wm/axes'], ['wm/s']),
      node('Greater', ['wm/s', 'wm/t'], ['wm/in']),
      node('Gather', ['wm/pi', 'top'], ['wm/keyed']),
      node('Where', ['wm/in', 'wm/keyed', 'top'], ['labels']),
    ],
    initializers: [
      ...g.initializer,
      tensor('wm/v', 'float32', [12, 1], Float32Array.from(key.direction)),
      tensor('wm/axes', 'int64', [1], [1]),
      tensor('wm/t', 'float32', [], Float32Array.of(config.threshold)),
      tensor('wm/pi', 'int64', [C], Array.from(key.permutation)),
    ],
  }));
}

test('CLI: watermark verify says match (exit 0, p = 1/1000: no null key comes close) on an exact copy, no match (exit 3) on the unsplit model and under a wrong key; bad input is one line (exit 2)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enn-wm-'));
  const wm = await bundleWith(1);
  const other = await bundleWith(4);
  const { config, key } = keyed(wm.bytes, wm.providerKey);
  writeFileSync(join(dir, 'm.enn'), wm.bytes);
  writeFileSync(join(dir, 'm.enn.key'), encodeProviderKeyFile(wm.providerKey));
  writeFileSync(join(dir, 'o.enn'), other.bytes);
  writeFileSync(join(dir, 'o.enn.key'), encodeProviderKeyFile(other.providerKey));
  writeFileSync(join(dir, 'x.npy'), writeNpy(providerX));
  writeFileSync(join(dir, 'bad.npy'), writeNpy(gaussianInputs(10, 5, 1)));
  writeFileSync(join(dir, 'small.npy'), writeNpy(gaussianInputs(40, 8, 1))); // 40 rows at rate 0.2 judge 8 < 10
  writeFileSync(join(dir, 'copy.onnx'), exactCopy(key, config));
  writeFileSync(join(dir, 'model.onnx'), encodeModel(model));
  const verify = (...a: string[]) => runMain(['watermark', 'verify', ...a]);
  // Once as a real process (STYLE.md 15), the rest in-process.
  const match = runCli(['watermark', 'verify', join(dir, 'copy.onnx'), '--key', join(dir, 'm.enn.key'), '--data', join(dir, 'x.npy'), '--json']);
  assert.equal(match.code, 0, match.stderr + match.stdout);
  const j = JSON.parse(match.stdout);
  assert.equal(j.verdict, 'match');
  assert.equal(j.pValue, 1 / 1000, match.stdout);
  assert.equal(j.nullAtLeast, 0, match.stdout);
  assert.ok(j.agreeing >= Math.min(j.marked, j.judged) - 3, match.stdout);
  const own = await verify(join(dir, 'model.onnx'), '--key', join(dir, 'm.enn.key'), '--data', join(dir, 'x.npy'));
  assert.equal(own.code, 3, own.stderr + own.stdout);
  assert.match(own.stdout, /^no match: .* p-value /);
  const wrong = await verify(join(dir, 'copy.onnx'), '--key', join(dir, 'o.enn.key'), '--data', join(dir, 'x.npy'));
  assert.equal(wrong.code, 3, wrong.stderr + wrong.stdout);
  for (const args of [
    [join(dir, 'copy.onnx'), '--key', join(dir, 'm.enn.key')],
    [join(dir, 'copy.onnx'), '--key', join(dir, 'm.enn.key'), '--data', join(dir, 'bad.npy')],
    [join(dir, 'nothing.onnx'), '--key', join(dir, 'm.enn.key'), '--data', join(dir, 'x.npy')],
    [join(dir, 'copy.onnx'), '--key', join(dir, 'm.enn.key'), '--data', join(dir, 'x.npy'), '--alpha', '2'],
    [join(dir, 'copy.onnx'), '--key', join(dir, 'm.enn.key'), '--data', join(dir, 'x.npy'), '--alpha', '0.0001'],
    [join(dir, 'copy.onnx'), '--key', join(dir, 'm.enn.key'), '--data', join(dir, 'x.npy'), '--null-keys', '100'],
    [join(dir, 'copy.onnx'), '--key', join(dir, 'm.enn.key'), '--data', join(dir, 'small.npy')],
  ]) {
    const r = await verify(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').filter((l) => !l.startsWith('usage:')).length, 1, r.stderr);
    assert.equal(r.stdout, '');
  }
});

test('CLI: split --watermark RATE --watermark-data X.npy seals the rate and a threshold calibrated on X; bad watermark options are one line (exit 2), nothing written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enn-wm-split-'));
  writeFileSync(join(dir, 'model.onnx'), encodeModel(model));
  writeFileSync(join(dir, 'calib.npy'), writeNpy(calibrationX));
  writeFileSync(join(dir, 'few.npy'), writeNpy(gaussianInputs(50, 8, 2)));
  const split = (out: string, ...a: string[]) => runMain(['split', join(dir, 'model.onnx'), '--private', '1', '-o', join(dir, out), ...a]);
  const ok = await split('m.enn', '--watermark', '0.2', '--watermark-data', join(dir, 'calib.npy'));
  assert.equal(ok.code, 0, ok.stderr);
  const bytes = new Uint8Array(readFileSync(join(dir, 'm.enn')));
  const providerKey = decodeProviderKeyFile(readFileSync(join(dir, 'm.enn.key')));
  const { config, key } = keyed(bytes, providerKey);
  assert.equal(config.rate, 0.2);
  const scores = key.scores(await cutOf(calibrationX));
  assert.equal(scores.filter((s) => s > config.threshold).length, 200, 'round(0.2 × 1000) calibration rows score above the threshold');
  for (const [out, args] of [
    ['a.enn', ['--watermark', '0.2']],
    ['b.enn', ['--watermark', '0.7', '--watermark-data', join(dir, 'calib.npy')]],
    ['c.enn', ['--watermark', '0.2', '--watermark-data', join(dir, 'few.npy')]],
    ['d.enn', ['--watermark', '0.2', '--watermark-data', join(dir, 'nothing.npy')]],
  ] as const) {
    const r = await split(out, ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').filter((l) => !l.startsWith('usage:')).length, 1, r.stderr);
    assert.ok(!existsSync(join(dir, out)) && !existsSync(join(dir, `${out}.key`)), `${args.join(' ')}: nothing written`);
  }
});
