import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { create, equals, toBinary } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { GraphProtoSchema, ModelProtoSchema, StringStringEntryProtoSchema, type ModelProto, type TensorProto } from 'onnx-buf';
import { isErrorCode } from '../errors.ts';
import { allTensors, cloneModel, decodeModel, encodeModel, loadModelFile } from './codec.ts';
import { maxAbsDiff, randomFeeds, runOnnx, type TensorData } from './ort.ts';
import { tensorToProto } from './tensor-proto.ts';
import { mlpModel, seededRandom } from './models.testkit.ts';

const SHARED_ONNX = fileURLToPath(new URL('../../../shared/models/onnx', import.meta.url));
const EXTDATA_MODEL = join(SHARED_ONNX, 'zuramai_extdata', 'mnist.onnx');

const utf8 = (s: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(s);
const f32 = (name: string, dims: number[], values: number[]): TensorProto => tensorToProto(name, { dtype: 'float32', dims, data: Float32Array.from(values) });
const tensorType = (elemType: number, dims: (number | string)[]) => ({
  value: {
    case: 'tensorType' as const,
    value: { elemType, shape: { dim: dims.map((d) => ({ value: typeof d === 'number' ? { case: 'dimValue' as const, value: BigInt(d) } : { case: 'dimParam' as const, value: d } })) } },
  },
});

/** A model touching every ModelProto feature the codec must keep, with one attribute of each type. */
function everythingModel(): ModelProto {
  const subgraph = (name: string) => ({
    name, docString: `sub ${name}`,
    output: [{ name: `${name}_out`, type: tensorType(1, [1]) }],
    node: [{ opType: 'Constant', output: [`${name}_out`], attribute: [{ name: 'value', type: 4, t: f32('c', [1], [1]) }] }],
  });
  return create(ModelProtoSchema, {
    irVersion: 9n,
    producerName: 'codec-test', producerVersion: '1.2.3', domain: 'org.example', modelVersion: 42n,
    docString: 'model doc',
    opsetImport: [{ domain: '', version: 19n }, { domain: 'ai.onnx.ml', version: 3n }, { domain: 'com.example', version: 1n }],
    metadataProps: [{ key: 'author', value: 'me' }, { key: 'license', value: 'Apache-2.0' }],
    graph: {
      name: 'g', docString: 'graph doc',
      input: [{ name: 'x', type: tensorType(1, ['batch', 3]), docString: 'input doc' }],
      output: [{ name: 'y', type: tensorType(1, ['batch', 3]) }],
      valueInfo: [{ name: 'h', type: tensorType(1, ['batch', 3]), docString: 'value_info doc' }],
      initializer: [f32('w', [3], [1, 2, 3])],
      sparseInitializer: [{ values: tensorToProto('sv', { dtype: 'float32', dims: [1], data: Float32Array.from([5]) }), indices: tensorToProto('si', { dtype: 'int64', dims: [1], data: BigInt64Array.from([2n]) }), dims: [3n] }],
      node: [
        { opType: 'Add', input: ['x', 'w'], output: ['h'], name: 'add', docString: 'node doc' },
        {
          opType: 'Everything', domain: 'com.example', input: ['h'], output: ['y'], name: 'every',
          attribute: [
            { name: 'f', type: 1, f: 0.25, docString: 'attribute doc' },
            { name: 'i', type: 2, i: -(2n ** 40n) },
            { name: 's', type: 3, s: utf8('ünïcode') },
            { name: 't', type: 4, t: f32('t', [2], [0.5, -0.5]) },
            { name: 'g', type: 5, g: subgraph('then') },
            { name: 'floats', type: 6, floats: [1.5, -2.5, 0] },
            { name: 'ints', type: 7, ints: [1n, -1n, 2n ** 62n] },
            { name: 'strings', type: 8, strings: [utf8('a'), utf8('')] },
            { name: 'tensors', type: 9, tensors: [f32('t1', [1], [1]), tensorToProto('t2', { dtype: 'string', dims: [1], data: ['s'] })] },
            { name: 'graphs', type: 10, graphs: [subgraph('a'), subgraph('b')] },
            { name: 'sparse', type: 11, sparseTensor: { values: f32('v', [1], [9]), indices: tensorToProto('ix', { dtype: 'int64', dims: [1], data: BigInt64Array.from([0n]) }), dims: [4n] } },
            { name: 'sparses', type: 12, sparseTensors: [{ values: f32('v2', [1], [8]), indices: tensorToProto('ix2', { dtype: 'int64', dims: [1], data: BigInt64Array.from([1n]) }), dims: [2n] }] },
            { name: 'tp', type: 13, tp: tensorType(7, [2, 'n']) },
            { name: 'tps', type: 14, typeProtos: [tensorType(1, []), { value: { case: 'sequenceType', value: { elemType: tensorType(1, [1]) } } }] },
            { name: 'ref', type: 2, refAttrName: 'outer_i' },
          ],
        },
      ],
    },
    functions: [{ name: 'F', domain: 'com.example', input: ['a'], output: ['b'], opsetImport: [{ domain: '', version: 19n }], node: [{ opType: 'Identity', input: ['a'], output: ['b'] }], docString: 'function doc' }],
  });
}

test('decode(encode(m)) keeps IR version, opsets, metadata, doc strings, value_info, functions and every attribute type', () => {
  const model = everythingModel();
  const bytes = encodeModel(model);
  const back = decodeModel(bytes, 'everything.onnx');
  assert.ok(equals(ModelProtoSchema, model, back), 'the decoded message equals the original');
  assert.deepEqual(encodeModel(back), bytes, 're-encoding is byte-identical');
  // Spot checks, so a schema that silently dropped fields on both sides would still be caught.
  assert.equal(back.irVersion, 9n);
  assert.deepEqual(back.opsetImport.map((o) => `${o.domain}:${o.version}`), [':19', 'ai.onnx.ml:3', 'com.example:1']);
  assert.deepEqual(back.metadataProps.map((p) => [p.key, p.value]), [['author', 'me'], ['license', 'Apache-2.0']]);
  assert.deepEqual([back.docString, back.graph!.docString, back.graph!.node[0]!.docString, back.graph!.input[0]!.docString, back.graph!.valueInfo[0]!.docString],
    ['model doc', 'graph doc', 'node doc', 'input doc', 'value_info doc']);
  assert.equal(back.graph!.valueInfo[0]!.name, 'h');
  const attrs = back.graph!.node[1]!.attribute;
  assert.deepEqual(attrs.map((a) => a.type), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 2]);
  const by = Object.fromEntries(attrs.map((a) => [a.name, a]));
  assert.equal(by.f!.f, 0.25);
  assert.equal(by.f!.docString, 'attribute doc');
  assert.equal(by.i!.i, -(2n ** 40n));
  assert.equal(new TextDecoder().decode(by.s!.s), 'ünïcode');
  assert.deepEqual(Array.from(new Float32Array(by.t!.t!.rawData.slice().buffer)), [0.5, -0.5]);
  assert.equal(by.g!.g!.node[0]!.attribute[0]!.t!.name, 'c');
  assert.deepEqual(by.floats!.floats, [1.5, -2.5, 0]);
  assert.deepEqual(by.ints!.ints, [1n, -1n, 2n ** 62n]);
  assert.deepEqual(by.strings!.strings.map((s) => new TextDecoder().decode(s)), ['a', '']);
  assert.equal(new TextDecoder().decode(by.tensors!.tensors[1]!.stringData[0]), 's');
  assert.deepEqual(by.graphs!.graphs.map((g) => g.name), ['a', 'b']);
  assert.deepEqual(by.sparse!.sparseTensor!.dims, [4n]);
  assert.equal(by.sparses!.sparseTensors[0]!.values!.name, 'v2');
  assert.equal(by.tp!.tp!.value.case, 'tensorType');
  assert.equal(by.tps!.typeProtos[1]!.value.case, 'sequenceType');
  assert.equal(by.ref!.refAttrName, 'outer_i');
  assert.equal(back.graph!.sparseInitializer[0]!.values!.name, 'sv');
  assert.equal(back.functions[0]!.docString, 'function doc');
  const dims = back.graph!.input[0]!.type!.value.value as { shape: { dim: { value: { case: string; value: unknown } }[] } };
  assert.deepEqual(dims.shape.dim.map((d) => d.value.value), ['batch', 3n], 'symbolic dims kept');
});

test('allTensors finds initializers and tensors inside attributes and subgraphs', () => {
  const names = [...allTensors(everythingModel().graph!)].map((t) => t.name);
  assert.deepEqual(names.sort(), ['c', 'c', 'c', 't', 't1', 't2', 'w'].sort());
});

test('unknown fields survive decode → encode (top level and nested)', () => {
  const model = mlpModel();
  const graphBytes = toBinary(GraphProtoSchema, model.graph!);
  // Field 99 of GraphProto and field 1000 of ModelProto are not in the ONNX 1.20 schema.
  const graphUnknown = new BinaryWriter().tag(99, WireType.LengthDelimited).string('graph-secret').finish();
  const modelUnknown = new BinaryWriter().tag(1000, WireType.Varint).uint64(123456789n).finish();
  const withoutGraph = cloneModel(model);
  withoutGraph.graph = undefined;
  const bytes = new BinaryWriter()
    .raw(toBinary(ModelProtoSchema, withoutGraph))
    .tag(7, WireType.LengthDelimited).bytes(concat(graphBytes, graphUnknown))
    .raw(modelUnknown)
    .finish();
  const out = encodeModel(decodeModel(bytes, 'unknown.onnx'));
  assert.ok(indexOf(out, graphUnknown) > 0, 'the graph-level unknown field is re-emitted');
  assert.ok(indexOf(out, modelUnknown) > 0, 'the model-level unknown field is re-emitted');
  assert.equal(out.length, bytes.length);
});

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay).indexOf(Buffer.from(needle));
}

test('not-ONNX and truncated files are refused with ONNX_DECODE naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'enn-codec-'));
  try {
    const rand = seededRandom(11);
    const good = encodeModel(mlpModel());
    const files: Record<string, Uint8Array> = {
      'random.onnx': Uint8Array.from({ length: 4096 }, () => Math.floor(rand() * 256)),
      'config.json': utf8(JSON.stringify({ name: 'not a model', layers: [1, 2, 3] })),
      'empty.onnx': new Uint8Array(0),
      'half.onnx': good.subarray(0, good.length >> 1),
      'cut-last-byte.onnx': good.subarray(0, good.length - 1),
      'cut-in-header.onnx': good.subarray(0, 5),
    };
    for (const [name, bytes] of Object.entries(files)) {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      assert.throws(() => loadModelFile(p), (e: unknown) => isErrorCode(e, 'ONNX_DECODE') && (e as Error).message.includes(p), name);
      assert.throws(() => decodeModel(bytes, name), (e: unknown) => isErrorCode(e, 'ONNX_DECODE') && (e as Error).message.includes(name), name);
    }
    assert.throws(() => loadModelFile(join(dir, 'missing.onnx')), (e: unknown) => isErrorCode(e, 'FILE_READ') && /missing\.onnx.*ENOENT/.test((e as Error).message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('external data: the zuramai MNIST model loads self-contained and computes what ORT computes from its path', { skip: !existsSync(EXTDATA_MODEL) && 'needs ../shared/models/onnx/zuramai_extdata' }, async () => {
  const raw = decodeModel(readFileSync(EXTDATA_MODEL), EXTDATA_MODEL);
  const external = [...allTensors(raw.graph!)].filter((t) => t.dataLocation === 1);
  assert.ok(external.length > 0, 'the file really keeps weights outside');
  const model = loadModelFile(EXTDATA_MODEL);
  assert.ok([...allTensors(model.graph!)].every((t) => t.dataLocation !== 1 && t.externalData.length === 0));
  const bytes = encodeModel(model);
  assert.ok(bytes.length > 800_000, `inlined weights make the file big (${bytes.length} bytes)`);
  const input: TensorData = { dtype: 'float32', dims: [2, 1, 28, 28], data: Float32Array.from({ length: 2 * 784 }, seededRandom(3)) };
  const inputName = model.graph!.input[0]!.name;
  // Self-contained: written alone to a folder without the side file, ORT loads it from its path.
  const dir = mkdtempSync(join(tmpdir(), 'enn-inlined-'));
  let mine: Record<string, TensorData>;
  try {
    writeFileSync(join(dir, 'mnist.onnx'), bytes);
    const alone = await ort.InferenceSession.create(join(dir, 'mnist.onnx'));
    await alone.release();
    mine = await runOnnx(bytes, { [inputName]: input });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const session = await ort.InferenceSession.create(EXTDATA_MODEL);
  try {
    const ref = await session.run({ [inputName]: new ort.Tensor('float32', input.data as Float32Array, input.dims) });
    for (const [name, t] of Object.entries(ref)) {
      const diff = maxAbsDiff(mine[name]!, { dtype: 'float32', dims: [...t.dims], data: t.data as Float32Array });
      assert.ok(diff <= 1e-6, `${name}: max abs diff ${diff}`);
    }
  } finally {
    await session.release();
  }
});

/** Writes the MLP with its weights in side files; `place` chooses each tensor's location. */
function writeExternalModel(dir: string, place: (t: TensorProto, i: number) => { location: string; file: string } | undefined): { path: string; model: ModelProto } {
  const model = mlpModel();
  const external = cloneModel(model);
  const files = new Map<string, Buffer[]>();
  external.graph!.initializer.forEach((t, i) => {
    const where = place(t, i);
    if (!where) return;
    const parts = files.get(where.file) ?? [];
    const offset = parts.reduce((a, b) => a + b.length, 0);
    parts.push(Buffer.from(t.rawData));
    files.set(where.file, parts);
    t.externalData = [['location', where.location], ['offset', String(offset)], ['length', String(t.rawData.length)]]
      .map(([key, value]) => create(StringStringEntryProtoSchema, { key, value }));
    t.dataLocation = 1;
    t.rawData = new Uint8Array(0);
  });
  for (const [file, parts] of files) {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, Buffer.concat(parts));
  }
  const path = join(dir, 'model.onnx');
  writeFileSync(path, encodeModel(external));
  return { path, model };
}

test('external data written here: inlined from two files (one in a subfolder), by absolute and relative path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enn-ext-'));
  try {
    const { path, model } = writeExternalModel(dir, (_t, i) => (i % 2 ? { location: 'weights.bin', file: join(dir, 'weights.bin') } : { location: 'sub/more.bin', file: join(dir, 'sub', 'more.bin') }));
    for (const p of [path, relative(process.cwd(), path)]) {
      const loaded = loadModelFile(p);
      assert.ok(equals(ModelProtoSchema, loaded, model), `${p}: inlined model equals the original`);
    }
    const feeds = randomFeeds([{ name: 'x', dtype: 'float32', shape: ['batch', 16] }], 3, seededRandom(9));
    const a = await runOnnx(model, feeds);
    const b = await runOnnx(encodeModel(loadModelFile(path)), feeds);
    assert.equal(maxAbsDiff(a.y!, b.y!), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('external data that escapes the folder, is missing or is out of range is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'enn-ext-bad-'));
  try {
    const modelDir = join(dir, 'model');
    mkdirSync(modelDir);
    writeFileSync(join(dir, 'x'), Buffer.alloc(4096));
    const cases: [string, (t: TensorProto, i: number) => { location: string; file: string } | undefined, RegExp][] = [
      ['../x', (_t, i) => (i === 0 ? { location: '../x', file: join(dir, 'x') } : undefined), /points outside the model's folder \(\.\.\/x\)/],
      ['sub/../../x', (_t, i) => (i === 0 ? { location: 'sub/../../x', file: join(dir, 'x') } : undefined), /points outside/],
      ['absolute', (_t, i) => (i === 0 ? { location: join(dir, 'x'), file: join(dir, 'x') } : undefined), /points outside/],
    ];
    for (const [label, place, message] of cases) {
      const { path } = writeExternalModel(modelDir, place);
      assert.throws(() => loadModelFile(path), (e: unknown) => isErrorCode(e, 'ONNX_EXTERNAL') && message.test((e as Error).message) && (e as Error).message.includes(path), label);
    }
    // A side file that is missing, or shorter than a tensor's offset + length.
    const { path } = writeExternalModel(modelDir, () => ({ location: 'w.bin', file: join(modelDir, 'w.bin') }));
    writeFileSync(join(modelDir, 'w.bin'), Buffer.alloc(10));
    assert.throws(() => loadModelFile(path), (e: unknown) => isErrorCode(e, 'ONNX_EXTERNAL') && /wants bytes .* of w\.bin, which has 10/.test((e as Error).message));
    rmSync(join(modelDir, 'w.bin'));
    assert.throws(() => loadModelFile(path), (e: unknown) => isErrorCode(e, 'ONNX_EXTERNAL') && /w\.bin.*ENOENT/.test((e as Error).message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
