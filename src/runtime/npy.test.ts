import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TensorData } from '../onnx/ort.ts';
import { readNpy, writeNpy } from './npy.ts';

// numpy.save(np.arange(6, dtype='<f4').reshape(2, 3)): the exact bytes NumPy 1.x writes.
const NUMPY_F4 = Buffer.concat([
  Buffer.from('\x93NUMPY\x01\x00v\x00', 'latin1'),
  Buffer.from("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".padEnd(117, ' ') + '\n', 'latin1'),
  Buffer.from(Float32Array.from([0, 1, 2, 3, 4, 5]).buffer),
]);

test('reads the bytes NumPy writes', () => {
  const t = readNpy(NUMPY_F4);
  assert.equal(t.dtype, 'float32');
  assert.deepEqual(t.dims, [2, 3]);
  assert.deepEqual([...t.data as Float32Array], [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(Buffer.from(writeNpy(t)), NUMPY_F4, 'writes them back byte for byte');
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
  const mk = (header: string, data: Uint8Array) => {
    const h = header.padEnd(117, ' ') + '\n';
    return Buffer.concat([Buffer.from('\x93NUMPY\x01\x00v\x00', 'latin1'), Buffer.from(h, 'latin1'), data]);
  };
  assert.throws(() => readNpy(mk("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", new Uint8Array(24))), /Fortran/);
  assert.throws(() => readNpy(mk("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", new Uint8Array(24))), /'>f4' is not supported/);
  assert.throws(() => readNpy(mk("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", new Uint8Array(20))), /needs 24/);
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
