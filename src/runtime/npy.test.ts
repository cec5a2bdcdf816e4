import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { TensorData } from '../onnx/ort.ts';
import { readNpy, writeNpy } from './npy.ts';

// Files NumPy itself wrote (testdata/npy/make.py, run once with Debian's python3-numpy 2.4);
// the values here are the ones that script saved.
const npy = (name: string) => new Uint8Array(readFileSync(new URL(`../../testdata/npy/${name}`, import.meta.url)));
const NUMPY_FILES: [string, Omit<TensorData, 'data'> & { values: unknown[] }][] = [
  ['f4-2x3.npy', { dtype: 'float32', dims: [2, 3], values: [0, 1, 2, 3, 4, 5] }],
  ['f8-3.npy', { dtype: 'float64', dims: [3], values: [1.5, -2.25, 1e300] }],
  ['i8-3.npy', { dtype: 'int64', dims: [3], values: [1n, -5n, 2n ** 50n] }],
  ['i4-2x1x2.npy', { dtype: 'int32', dims: [2, 1, 2], values: [1, 2, 3, -4] }],
  ['u1-5.npy', { dtype: 'uint8', dims: [5], values: [0, 1, 2, 254, 255] }],
  ['b1-4.npy', { dtype: 'bool', dims: [4], values: [1, 0, 0, 1] }],
  ['f4-scalar.npy', { dtype: 'float32', dims: [], values: [7] }],
  ['f4-0x3.npy', { dtype: 'float32', dims: [0, 3], values: [] }],
];

test('reads the files NumPy wrote, and writes them back byte for byte', () => {
  for (const [name, want] of NUMPY_FILES) {
    const bytes = npy(name);
    const t = readNpy(bytes);
    assert.equal(t.dtype, want.dtype, name);
    assert.deepEqual(t.dims, want.dims, name);
    assert.deepEqual([...t.data as Iterable<unknown>], want.values, name);
    assert.deepEqual(Buffer.from(writeNpy(t)), Buffer.from(bytes), `${name}: written as NumPy writes it`);
  }
});

test('reads NumPy format 2.0 (a 4-byte header length)', () => {
  const t = readNpy(npy('f4-2x3-v2.npy'));
  assert.deepEqual(t.dims, [2, 3]);
  assert.deepEqual([...t.data as Float32Array], [0, 1, 2, 3, 4, 5]);
});

test('round-trips float32, int64, int32, uint8, scalars and 1-D', () => {
  const cases: TensorData[] = [
    { dtype: 'float32', dims: [1, 4], data: Float32Array.from([1.5, -2, 0, 3e-8]) },
    { dtype: 'int64', dims: [3], data: BigInt64Array.from([1n, -5n, 2n ** 50n]) },
    { dtype: 'int32', dims: [2, 1, 2], data: Int32Array.from([1, 2, 3, -4]) },
    { dtype: 'uint8', dims: [5], data: Uint8Array.from([0, 1, 2, 254, 255]) },
    { dtype: 'float32', dims: [], data: Float32Array.from([7]) },
  ];
  for (const c of cases) {
    const bytes = writeNpy(c);
    assert.equal((10 + new DataView(bytes.buffer).getUint16(8, true)) % 64, 0, 'header aligned to 64');
    const back = readNpy(bytes);
    assert.equal(back.dtype, c.dtype);
    assert.deepEqual(back.dims, c.dims);
    assert.deepEqual([...back.data as Iterable<unknown>], [...c.data as Iterable<unknown>]);
  }
});

test('refuses Fortran order, big-endian, short data and non-npy bytes with one clear message', () => {
  assert.throws(() => readNpy(npy('f4-2x3-fortran.npy')), /Fortran/);
  assert.throws(() => readNpy(npy('f4-2x3-big-endian.npy')), /'>f4' is not supported/);
  const whole = npy('f4-2x3.npy');
  assert.throws(() => readNpy(whole.subarray(0, whole.byteLength - 4)), /\.npy data is 20 bytes, shape \(2, 3\) of <f4 needs 24/);
  assert.throws(() => readNpy(new TextEncoder().encode('[[1,2]]')), /bad magic/);
});

test('NpyFile reads rows a chunk at a time, equal to the whole file; a short file is refused when opened', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { NpyFile } = await import('./npy.ts');
  const dir = mkdtempSync(join(tmpdir(), 'enn-npyfile-'));
  const whole = { dtype: 'int32' as const, dims: [7, 2, 3], data: Int32Array.from({ length: 42 }, (_, i) => i * 3 - 20) };
  writeFileSync(join(dir, 'a.npy'), writeNpy(whole));
  const f = NpyFile.open(join(dir, 'a.npy'));
  assert.equal(f.rows, 7);
  const chunks = [f.readRows(0, 3), f.readRows(3, 3), f.readRows(6, 1)];
  f.close();
  assert.deepEqual(chunks.map((c) => c.dims), [[3, 2, 3], [3, 2, 3], [1, 2, 3]]);
  assert.deepEqual(chunks.flatMap((c) => [...c.data as Int32Array]), [...whole.data]);
  writeFileSync(join(dir, 'short.npy'), writeNpy(whole).subarray(0, 200));
  assert.throws(() => NpyFile.open(join(dir, 'short.npy')), /\.npy data is \d+ bytes, shape \(7, 2, 3\) of <i4 needs 168/);
});
