// The ONNX codec's conformance suite: every test of the ONNX backend test set (onnx v1.17.0) is
// decoded, re-encoded and run in onnxruntime-node from the re-encoded bytes, and must give the
// test's stored outputs. Skips are computed by category, or listed with a reason in
// conformance-allowlist.ts (and then proven to be ORT's failure on the original bytes too).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import type { ModelProto, ValueInfoProto } from 'onnx-buf';
import { decodeModel, encodeModel } from './codec.ts';
import { decodeTensorFile, type AnyTensorData } from './tensor-proto.ts';
import { DTYPE_BY_ONNX } from './tensor-spec.ts';
import { MAY_PASS, ORT_FAILURES } from './conformance-allowlist.ts';

const ROOT = fileURLToPath(new URL('../../../shared/models/onnx-backend-tests-v1.17.0', import.meta.url));
const GROUPS = ['node', 'pytorch-converted', 'simple'] as const;
const SKIP = !existsSync(ROOT) && 'needs ../shared/models/onnx-backend-tests-v1.17.0';

// ONNX backend-test tolerances (onnx/backend/test/runner: np.testing.assert_allclose).
const RTOL = 1e-3;
const ATOL = 1e-7;

/** How one backend test ended. `signature` identifies a failure so two runs can be compared. */
type Outcome =
  | { kind: 'pass' }
  | { kind: 'fail'; signature: string; outputs?: Record<string, ort.Tensor> };

const ALLOW_LISTED = 'onnxruntime-node 1.30 fails them on the original bytes too (allow-list)';

/** A non-tensor value in a graph's inputs or outputs (the JS API feeds and returns tensors only). */
function nonTensorValue(values: readonly ValueInfoProto[]): ValueInfoProto | undefined {
  return values.find((v) => v.type?.value.case !== 'tensorType');
}

/** An element type onnxruntime-node's JS Tensor cannot hold: bfloat16, float8, int4, complex, … */
function unsupportedDType(values: readonly ValueInfoProto[]): number | undefined {
  for (const v of values) {
    if (v.type?.value.case !== 'tensorType') continue;
    const code = v.type.value.value.elemType;
    // bfloat16 is a DType here (carried as bits) but onnxruntime-common's Tensor has no such type.
    if (!DTYPE_BY_ONNX[code] || DTYPE_BY_ONNX[code] === 'bfloat16') return code;
  }
  return undefined;
}

/** Why this harness cannot run a model, or undefined when it can. Computed, never listed. */
function computedSkip(model: ModelProto): string | undefined {
  const g = model.graph!;
  const inits = new Set(g.initializer.map((t) => t.name));
  const io = [...g.input.filter((i) => !inits.has(i.name)), ...g.output];
  if (nonTensorValue(io)) return 'sequence/optional/map inputs or outputs (onnxruntime-node JS feeds tensors only)';
  if (model.opsetImport.some((o) => o.domain === 'ai.onnx.preview.training')) return 'training ops (ai.onnx.preview.training)';
  if (unsupportedDType(io) !== undefined) return 'element type onnxruntime-node JS cannot hold (bfloat16, float8, int4, complex)';
  return undefined;
}

/** The test's `<prefix>_N.pb` files, one per value, in order (each must exist and hold a tensor). */
function readTensorFiles(dir: string, prefix: 'input' | 'output', values: readonly ValueInfoProto[]): AnyTensorData[] {
  return values.map((vi, i) => {
    const p = join(dir, 'test_data_set_0', `${prefix}_${i}.pb`);
    const f = decodeTensorFile(readFileSync(p), p, vi.type);
    if (f.kind !== 'tensor') throw new Error(`${p}: ${f.reason}`);
    return f.tensor;
  });
}

/** An IEEE half-precision bit pattern as a number. */
function f16ToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Compares one output; returns a description of the first difference, or undefined. */
function compare(name: string, expected: AnyTensorData, actual: ort.Tensor): string | undefined {
  if (actual.type !== expected.dtype) return `${name}: dtype ${actual.type}, expected ${expected.dtype}`;
  if (actual.dims.join() !== expected.dims.join()) return `${name}: dims [${actual.dims.join()}], expected [${expected.dims.join()}]`;
  const a = actual.data as ArrayLike<number | bigint | string>;
  const e = expected.data as ArrayLike<number | bigint | string>;
  const float = expected.dtype === 'float32' || expected.dtype === 'float64' || expected.dtype === 'float16';
  for (let i = 0; i < e.length; i++) {
    if (!float) {
      if (a[i] !== e[i]) return `${name}[${i}]: ${String(a[i])}, expected ${String(e[i])}`;
      continue;
    }
    const x = expected.dtype === 'float16' ? f16ToNumber(Number(a[i])) : Number(a[i]);
    const y = expected.dtype === 'float16' ? f16ToNumber(Number(e[i])) : Number(e[i]);
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    if (!(Math.abs(x - y) <= ATOL + RTOL * Math.abs(y))) return `${name}[${i}]: ${x}, expected ${y}`;
  }
  return undefined;
}

/** Runs a model's bytes on the test's inputs and compares with its stored outputs. */
async function runAndCompare(bytes: Uint8Array, model: ModelProto, dir: string): Promise<Outcome> {
  const g = model.graph!;
  const inits = new Set(g.initializer.map((t) => t.name));
  const inputs = g.input.filter((i) => !inits.has(i.name));
  const feedValues = readTensorFiles(dir, 'input', inputs);
  const expected = readTensorFiles(dir, 'output', g.output);
  const feeds: Record<string, ort.Tensor> = {};
  inputs.forEach((vi, i) => {
    const t = feedValues[i]!;
    feeds[vi.name] = new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims);
  });
  let session: ort.InferenceSession;
  try {
    // Fatal-only logging: expected failures are reported through the thrown error.
    session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 4 });
  } catch (e) {
    return { kind: 'fail', signature: `session: ${(e as Error).message.split('\n')[0]}` };
  }
  try {
    let outputs: Record<string, ort.Tensor>;
    try {
      outputs = await session.run(feeds);
    } catch (e) {
      return { kind: 'fail', signature: `run: ${(e as Error).message.split('\n')[0]}` };
    }
    for (const [i, vi] of g.output.entries()) {
      const want = expected[i]!;
      const got = outputs[vi.name];
      if (!got) return { kind: 'fail', signature: `output ${vi.name} missing`, outputs };
      const diff = compare(vi.name, want, got);
      if (diff) return { kind: 'fail', signature: `mismatch: ${diff}`, outputs };
    }
    return { kind: 'pass' };
  } finally {
    await session.release();
  }
}

/** Exact equality of two runs' outputs (NaN equals NaN): the codec must not change what ORT computes. */
function sameOutputs(a: Record<string, ort.Tensor> | undefined, b: Record<string, ort.Tensor> | undefined): boolean {
  if (!a || !b) return a === b;
  if (Object.keys(a).sort().join() !== Object.keys(b).sort().join()) return false;
  return Object.keys(a).every((k) => {
    const x = a[k]!;
    const y = b[k]!;
    if (x.type !== y.type || x.dims.join() !== y.dims.join()) return false;
    const dx = x.data as ArrayLike<unknown>;
    const dy = y.data as ArrayLike<unknown>;
    for (let i = 0; i < dx.length; i++) if (!Object.is(dx[i], dy[i]) && dx[i] !== dy[i]) return false;
    return true;
  });
}

const counts = { pass: 0, identical: 0, skip: new Map<string, number>() };
const seenAllowList = new Set<string>();

/** How one backend test ended in this suite. */
type Verdict = ({ status: 'pass' } | { status: 'skip'; reason: string } | { status: 'fail'; why: string }) & { identical?: boolean };

/**
 * One backend test. `mutate` (for this suite's own tests) changes the decoded model before it is
 * re-encoded, standing in for a codec bug.
 */
async function runBackendTest(group: string, name: string, mutate?: (m: ModelProto) => void): Promise<Verdict> {
  const key = `${group}/${name}`;
  const dir = join(ROOT, group, name);
  const original = readFileSync(join(dir, 'model.onnx'));
  let model: ModelProto;
  let reencoded: Uint8Array;
  try {
    const decoded = decodeModel(original, key);
    mutate?.(decoded);
    reencoded = encodeModel(decoded);
    // Everything below sees only the re-encoded bytes. Byte equality, not message equality:
    // a model may hold NaN attributes (tree ensembles do).
    model = decodeModel(reencoded, `${key} (re-encoded)`);
    if (!Buffer.from(encodeModel(model)).equals(Buffer.from(reencoded))) return { status: 'fail', why: 'encode(decode(encode(m))) differs from encode(m)' };
  } catch (e) {
    return { status: 'fail', why: `codec: ${(e as Error).message}` };
  }
  const verdict = await judge(key, dir, model, original, reencoded);
  return { ...verdict, identical: Buffer.from(reencoded).equals(original) };
}

/** Skip, run, compare; for an allow-listed test, also run the original bytes. */
async function judge(key: string, dir: string, model: ModelProto, original: Uint8Array, reencoded: Uint8Array): Promise<Verdict> {
  const reason = computedSkip(model);
  if (reason) return { status: 'skip', reason };
  const outcome = await runAndCompare(reencoded, model, dir);
  const listed = ORT_FAILURES[key];
  if (outcome.kind === 'pass') {
    if (listed !== undefined && !MAY_PASS.has(key)) return { status: 'fail', why: `passes but is allow-listed (${listed}): remove it from conformance-allowlist.ts` };
    return { status: 'pass' };
  }
  if (listed === undefined) return { status: 'fail', why: outcome.signature };
  // Allow-listed: the original bytes must fail in the very same way, else the codec is to blame.
  const reference = await runAndCompare(original, decodeModel(original, key), dir);
  if (reference.kind !== 'fail' || reference.signature !== outcome.signature || !sameOutputs(reference.outputs, outcome.outputs)) {
    const was = reference.kind === 'fail' ? reference.signature : reference.kind;
    return { status: 'fail', why: `allow-listed, but the original bytes give '${was}' and the re-encoded '${outcome.signature}'` };
  }
  return { status: 'skip', reason: ALLOW_LISTED };
}

for (const group of GROUPS) {
  test(`ONNX backend tests, ${group}: decode → encode → onnxruntime-node gives the stored outputs`, { skip: SKIP }, async (t) => {
    const names = readdirSync(join(ROOT, group)).filter((n) => existsSync(join(ROOT, group, n, 'model.onnx'))).sort();
    assert.ok(names.length > 0, `no tests under ${group}`);
    const failures: string[] = [];
    for (const name of names) {
      const v = await runBackendTest(group, name).catch((e: unknown): Verdict => ({ status: 'fail', why: `harness: ${(e as Error).message}` }));
      if (v.identical) counts.identical++;
      if (v.status === 'pass') counts.pass++;
      else if (v.status === 'skip') counts.skip.set(v.reason, (counts.skip.get(v.reason) ?? 0) + 1);
      else failures.push(`${group}/${name}: ${v.why}`);
      if ((v.status === 'skip' && v.reason === ALLOW_LISTED) || (v.status === 'pass' && MAY_PASS.has(`${group}/${name}`))) seenAllowList.add(`${group}/${name}`);
    }
    if (failures.length) t.diagnostic(`failing:\n  ${failures.join('\n  ')}`);
    assert.deepEqual(failures, [], `${failures.length} of ${names.length} backend tests in ${group} fail`);
  });
}

test('every allow-list entry names a backend test that ran and failed in ORT', { skip: SKIP }, () => {
  const unseen = Object.keys(ORT_FAILURES).filter((k) => !seenAllowList.has(k));
  assert.deepEqual(unseen, [], 'allow-list entries that are missing, passing, or skipped for another reason');
});

test('a codec bug cannot hide behind the allow-list', { skip: SKIP }, async () => {
  // An allow-listed mismatch: a changed attribute changes ORT's (still wrong) output.
  const mismatch = await runBackendTest('node', 'test_resize_downsample_scales_linear_align_corners', (m) => {
    const mode = m.graph!.node[0]!.attribute.find((a) => a.name === 'coordinate_transformation_mode')!;
    mode.s = new TextEncoder().encode('asymmetric');
  });
  assert.equal(mismatch.status, 'fail');
  assert.match((mismatch as { why: string }).why, /^allow-listed, but the original bytes give 'mismatch: .*' and the re-encoded 'mismatch: /);
  // An allow-listed session failure: a model the codec broke fails differently.
  const session = await runBackendTest('node', 'test_bitshift_left_uint16', (m) => {
    m.graph!.node[0]!.input[1] = 'nowhere';
  });
  assert.equal(session.status, 'fail');
  assert.match((session as { why: string }).why, /^allow-listed, but the original bytes give 'session: .*BitShift.*' and the re-encoded 'session: /);
  // And a listed test whose re-encoding is faithful is accepted.
  assert.deepEqual(await runBackendTest('node', 'test_bitshift_left_uint16'), { status: 'skip', reason: ALLOW_LISTED, identical: true });
});

test('a codec bug in an ordinary test is reported', { skip: SKIP }, async () => {
  const v = await runBackendTest('node', 'test_add', (m) => { m.graph!.node[0]!.opType = 'Sub'; });
  assert.equal(v.status, 'fail');
  assert.match((v as { why: string }).why, /^mismatch: /);
});

after(() => {
  if (SKIP) return;
  const skipped = [...counts.skip.values()].reduce((a, b) => a + b, 0);
  const parts = [...counts.skip].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `${n} ${reason}`).join('; ');
  console.log(`# ONNX conformance: ${counts.pass} passed, ${skipped} skipped (${parts}); ${counts.identical} re-encoded byte-identical to the original`);
});
