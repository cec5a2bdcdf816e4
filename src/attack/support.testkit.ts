/**
 * Test material for the attack module: a tiny classifier whose tail is one Dense + softmax over
 * a 12-wide cut, and seeded inputs. Not part of the library's API.
 * @module
 */
import type { ModelProto } from 'onnx-buf';
import { attr, makeModel, node, tensor } from '../onnx/build.ts';
import type { TensorData } from '../onnx/ort.ts';
import { randomFloats, seededRandom } from '../util/seeded-prng.ts';

/** x[N,8] → dense 12 relu → dense 4 softmax (the tail at k = 1 is linear + softmax over 12 features). */
export function linearTailModel(seed = 11): ModelProto {
  const r = seededRandom(seed);
  return makeModel({
    name: 'linear_tail',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'probs', dtype: 'float32', shape: ['N', 4] }],
    nodes: [
      node('Gemm', ['x', 'hidden/kernel', 'hidden/bias'], ['hidden/pre'], {}, 'hidden/Gemm'),
      node('Relu', ['hidden/pre'], ['h'], {}, 'hidden/Relu'),
      node('Gemm', ['h', 'out/kernel', 'out/bias'], ['logits'], {}, 'out/Gemm'),
      node('Softmax', ['logits'], ['probs'], { axis: attr.int(-1) }, 'out/Softmax'),
    ],
    initializers: [
      tensor('hidden/kernel', 'float32', [8, 12], randomFloats(96, r, 0.8)),
      tensor('hidden/bias', 'float32', [12], randomFloats(12, r, 0.1)),
      tensor('out/kernel', 'float32', [12, 4], randomFloats(48, r, 1.5)),
      tensor('out/bias', 'float32', [4], new Float32Array(4)),
    ],
  });
}

/** `rows` seeded standard-normal-ish inputs [rows, width] (sum of uniforms). */
export function gaussianInputs(rows: number, width: number, seed: number): TensorData {
  const r = seededRandom(seed);
  const data = new Float32Array(rows * width);
  for (let i = 0; i < data.length; i++) data[i] = (r() + r() + r() + r() - 2) * 1.7;
  return { dtype: 'float32', dims: [rows, width], data };
}
