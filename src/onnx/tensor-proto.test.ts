import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, toBinary } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { StringStringEntryProtoSchema, TensorProtoSchema, type TensorProto } from 'onnx-buf';
import { isErrorCode } from '../errors.ts';
import { decodeModel } from './codec.ts';
import type { TensorData } from './ort.ts';
import { decodeTensorFile, tensorFromProto, tensorToProto, type AnyTensorData } from './tensor-proto.ts';
import { ONNX_BY_DTYPE } from './tensor-spec.ts';

const BACKEND = fileURLToPath(new URL('../../../shared/models/onnx-backend-tests-v1.17.0', import.meta.url));

const SAMPLES: AnyTensorData[] = [
  { dtype: 'float32', dims: [2, 2], data: Float32Array.from([1.5, -2, NaN, Infinity]) },
  { dtype: 'float64', dims: [3], data: Float64Array.from([Math.PI, -0, 1e300]) },
  { dtype: 'float16', dims: [2], data: Uint16Array.from([0x3c00, 0xfbff]) },
  { dtype: 'bfloat16', dims: [1], data: Uint16Array.from([0x3f80]) },
  { dtype: 'int8', dims: [3], data: Int8Array.from([-128, 0, 127]) },
  { dtype: 'int16', dims: [2], data: Int16Array.from([-32768, 32767]) },
  { dtype: 'int32', dims: [2], data: Int32Array.from([-2147483648, 2147483647]) },
  { dtype: 'int64', dims: [2], data: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n]) },
  { dtype: 'uint8', dims: [2], data: Uint8Array.from([0, 255]) },
  { dtype: 'uint16', dims: [2], data: Uint16Array.from([0, 65535]) },
  { dtype: 'uint32', dims: [2], data: Uint32Array.from([0, 4294967295]) },
  { dtype: 'uint64', dims: [2], data: BigUint64Array.from([0n, 2n ** 64n - 1n]) },
  { dtype: 'bool', dims: [3], data: Uint8Array.from([1, 0, 1]) },
  { dtype: 'string', dims: [2, 1], data: ['héllo', ''] },
  { dtype: 'float32', dims: [0, 3], data: new Float32Array(0) },
  { dtype: 'int64', dims: [], data: BigInt64Array.from([7n]) },
];

function same(a: AnyTensorData, b: AnyTensorData): void {
  assert.equal(a.dtype, b.dtype);
  assert.deepEqual(a.dims, b.dims);
  assert.equal(a.data.constructor, b.data.constructor, `${a.dtype}: array type`);
  assert.deepEqual(Array.from(a.data as ArrayLike<unknown>), Array.from(b.data as ArrayLike<unknown>), a.dtype);
}

test('tensorToProto → bytes → tensorFromProto keeps every dtype, value and shape', () => {
  for (const s of SAMPLES) {
    const p = tensorToProto('t', s);
    assert.equal(p.dataType, ONNX_BY_DTYPE[s.dtype]);
    if (s.dtype === 'string') assert.equal(p.stringData.length, s.data.length);
    else assert.equal(p.rawData.length, (s.data as TensorData['data']).byteLength, `${s.dtype} is raw_data`);
    const f = decodeTensorFile(toBinary(TensorProtoSchema, p), 'mem');
    assert.equal(f.kind, 'tensor', s.dtype);
    if (f.kind === 'tensor') {
      assert.equal(f.name, 't');
      same(f.tensor, s);
    }
  }
});

test('raw_data is little-endian, also at an unaligned offset', () => {
  const bytes = Uint8Array.from([0xee, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff]).subarray(1);
  const t = create(TensorProtoSchema, { dataType: ONNX_BY_DTYPE.int32, dims: [2n], rawData: bytes });
  same(tensorFromProto(t), { dtype: 'int32', dims: [2], data: Int32Array.from([1, -1]) });
  const f = create(TensorProtoSchema, { dataType: ONNX_BY_DTYPE.float32, dims: [1n], rawData: Uint8Array.from([0, 0, 0x80, 0x3f]) });
  same(tensorFromProto(f), { dtype: 'float32', dims: [1], data: Float32Array.from([1]) });
});

test('typed fields: float_data, double_data, int64_data, uint64_data, int32_data for small types, string_data', () => {
  const cases: [Partial<TensorProto>, AnyTensorData][] = [
    [{ dataType: 1, floatData: [0.5, -1] }, { dtype: 'float32', dims: [2], data: Float32Array.from([0.5, -1]) }],
    [{ dataType: 11, doubleData: [0.1, 2] }, { dtype: 'float64', dims: [2], data: Float64Array.from([0.1, 2]) }],
    [{ dataType: 7, int64Data: [-5n, 9n] }, { dtype: 'int64', dims: [2], data: BigInt64Array.from([-5n, 9n]) }],
    [{ dataType: 12, uint64Data: [4294967295n, 1n] }, { dtype: 'uint32', dims: [2], data: Uint32Array.from([4294967295, 1]) }],
    [{ dataType: 13, uint64Data: [2n ** 64n - 1n, 1n] }, { dtype: 'uint64', dims: [2], data: BigUint64Array.from([2n ** 64n - 1n, 1n]) }],
    [{ dataType: 6, int32Data: [-7, 7] }, { dtype: 'int32', dims: [2], data: Int32Array.from([-7, 7]) }],
    [{ dataType: 2, int32Data: [255, 0] }, { dtype: 'uint8', dims: [2], data: Uint8Array.from([255, 0]) }],
    [{ dataType: 3, int32Data: [-128, 127] }, { dtype: 'int8', dims: [2], data: Int8Array.from([-128, 127]) }],
    [{ dataType: 4, int32Data: [65535, 1] }, { dtype: 'uint16', dims: [2], data: Uint16Array.from([65535, 1]) }],
    [{ dataType: 5, int32Data: [-32768, 2] }, { dtype: 'int16', dims: [2], data: Int16Array.from([-32768, 2]) }],
    [{ dataType: 9, int32Data: [1, 0] }, { dtype: 'bool', dims: [2], data: Uint8Array.from([1, 0]) }],
    // float16 as its bit pattern in int32_data (1.0 = 0x3c00, -65504 = 0xfbff).
    [{ dataType: 10, int32Data: [0x3c00, 0xfbff] }, { dtype: 'float16', dims: [2], data: Uint16Array.from([0x3c00, 0xfbff]) }],
    [{ dataType: 16, int32Data: [0x3f80, 0] }, { dtype: 'bfloat16', dims: [2], data: Uint16Array.from([0x3f80, 0]) }],
    [{ dataType: 8, stringData: [new TextEncoder().encode('a'), new TextEncoder().encode('ß')] }, { dtype: 'string', dims: [2], data: ['a', 'ß'] }],
  ];
  for (const [fields, want] of cases) {
    same(tensorFromProto(create(TensorProtoSchema, { ...fields, dims: [2n] } as Parameters<typeof create<typeof TensorProtoSchema>>[1])), want);
  }
});

test('tensorFromProto refuses wrong counts, unknown types and external data, naming the tensor', () => {
  const bad: Partial<TensorProto>[] = [
    { name: 'w', dataType: 1, dims: [3n], floatData: [1, 2] },
    { name: 'w', dataType: 1, dims: [2n], rawData: new Uint8Array(7) },
    { name: 'w', dataType: 17, dims: [1n], rawData: new Uint8Array(1) },
    { name: 'w', dataType: 1, dims: [1n], dataLocation: 1, externalData: [create(StringStringEntryProtoSchema, { key: 'location', value: 'w.bin' })] },
    { name: 'w', dataType: 8, dims: [2n], stringData: [] },
  ];
  for (const fields of bad) {
    assert.throws(() => tensorFromProto(create(TensorProtoSchema, fields as Parameters<typeof create<typeof TensorProtoSchema>>[1])),
      (e: unknown) => isErrorCode(e, 'ONNX_TENSOR') && /tensor 'w'/.test((e as Error).message));
  }
});

/** A SequenceProto {name, elem_type = TENSOR, tensor_values = [t]} (onnx-data.proto), by hand. */
function sequenceProtoBytes(t: TensorProto): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).string('seq');
  w.tag(2, WireType.Varint).int32(1);
  w.tag(3, WireType.LengthDelimited).bytes(toBinary(TensorProtoSchema, t));
  return w.finish();
}

test('decodeTensorFile reports SequenceProto files and unsupported element types instead of misreading them', () => {
  const seq = sequenceProtoBytes(tensorToProto('a', { dtype: 'float32', dims: [2], data: Float32Array.from([1, 2]) }));
  assert.equal(decodeTensorFile(seq, 'seq.pb').kind, 'non-tensor');
  const f8 = toBinary(TensorProtoSchema, create(TensorProtoSchema, { name: 'x', dataType: 17, dims: [2n], rawData: new Uint8Array(2) }));
  assert.deepEqual(decodeTensorFile(f8, 'f8.pb').kind, 'unsupported-dtype');
  assert.throws(() => decodeTensorFile(Uint8Array.from([0xff, 0xff, 0xff]), 'junk.pb', { value: { case: 'tensorType', value: { elemType: 1 } } } as never),
    (e: unknown) => isErrorCode(e, 'ONNX_DECODE') && /junk\.pb/.test((e as Error).message));
});

test('decodeTensorFile on every backend-test data file: sequences/optionals detected, tensors read', { skip: !existsSync(BACKEND) && 'needs ../shared/models/onnx-backend-tests-v1.17.0' }, () => {
  const wrong: string[] = [];
  let nonTensor = 0;
  let tensors = 0;
  for (const group of ['node', 'pytorch-converted', 'simple']) {
    for (const name of readdirSync(join(BACKEND, group))) {
      const dir = join(BACKEND, group, name);
      const g = decodeModel(readFileSync(join(dir, 'model.onnx')), name).graph!;
      const inits = new Set(g.initializer.map((t) => t.name));
      const io = [['input', g.input.filter((i) => !inits.has(i.name))], ['output', g.output]] as const;
      for (const [prefix, values] of io) {
        values.forEach((vi, i) => {
          const p = join(dir, 'test_data_set_0', `${prefix}_${i}.pb`);
          if (!existsSync(p)) return;
          // Without the declared type: the file alone must tell.
          const f = decodeTensorFile(readFileSync(p), p);
          const isTensor = vi.type?.value.case === 'tensorType';
          if (!isTensor) {
            nonTensor++;
            if (f.kind !== 'non-tensor') wrong.push(`${p}: a ${vi.type?.value.case} read as ${f.kind}`);
            return;
          }
          tensors++;
          const elem = (vi.type!.value.value as { elemType: number }).elemType;
          if (f.kind === 'tensor') {
            // onnx writes bfloat16 test data as the uint16 numpy arrays that hold its bits.
            const stored = elem === ONNX_BY_DTYPE.bfloat16 && f.tensor.dtype === 'uint16' ? elem : ONNX_BY_DTYPE[f.tensor.dtype];
            if (stored !== elem) wrong.push(`${p}: dtype ${f.tensor.dtype}, declared ${elem}`);
          } else if (!(f.kind === 'unsupported-dtype' && f.dataType === elem)) {
            wrong.push(`${p}: ${f.reason}`);
          }
        });
      }
    }
  }
  assert.deepEqual(wrong, []);
  assert.ok(nonTensor > 50 && tensors > 4000, `${nonTensor} non-tensor and ${tensors} tensor files`);
});
