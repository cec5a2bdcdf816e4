import type { ModelProto } from 'onnx-buf';
import { attr, makeModel, node, tensor } from './build.ts';

/**
 * Small ONNX models made in code, for tests across the project: an MLP, a CNN, a residual block,
 * a two-output model, a model with a weight used by two layers, a dynamic-batch model.
 * Weights come from a seeded generator, so every run builds the same bytes.
 */
export { seededRandom, randomFloats } from '../util/seeded-prng.ts';
import { seededRandom, randomFloats } from '../util/seeded-prng.ts';

function dense(name: string, input: string, output: string, inDim: number, outDim: number, rand: () => number, activation?: 'Relu' | 'Softmax' | 'Sigmoid'): { nodes: ReturnType<typeof node>[]; inits: ReturnType<typeof tensor>[] } {
  const pre = activation ? `${name}/pre` : output;
  const nodes = [node('Gemm', [input, `${name}/kernel`, `${name}/bias`], [pre], {}, `${name}/Gemm`)];
  if (activation) nodes.push(node(activation, [pre], [output], activation === 'Softmax' ? { axis: attr.int(-1) } : {}, `${name}/${activation}`));
  return {
    nodes,
    inits: [tensor(`${name}/kernel`, 'float32', [inDim, outDim], randomFloats(inDim * outDim, rand)), tensor(`${name}/bias`, 'float32', [outDim], randomFloats(outDim, rand, 0.1))],
  };
}

/** x[batch,16] → dense1 (relu) → dense2 (relu) → dense3 (softmax) → y[batch,4]. Three layers. */
export function mlpModel(seed = 1): ModelProto {
  const r = seededRandom(seed);
  const d1 = dense('dense1', 'x', 'h1', 16, 32, r, 'Relu');
  const d2 = dense('dense2', 'h1', 'h2', 32, 32, r, 'Relu');
  const d3 = dense('dense3', 'h2', 'y', 32, 4, r, 'Softmax');
  return makeModel({
    name: 'mlp',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 16] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 4] }],
    nodes: [...d1.nodes, ...d2.nodes, ...d3.nodes],
    initializers: [...d1.inits, ...d2.inits, ...d3.inits],
  });
}

/** x[N,1,12,12] → conv(4,3×3) relu → maxpool 2 → flatten → gemm 10 → softmax. No value_info: types come from ORT. */
export function cnnModel(seed = 2, batch: number | string = 'N'): ModelProto {
  const r = seededRandom(seed);
  return makeModel({
    name: 'cnn',
    inputs: [{ name: 'image', dtype: 'float32', shape: [batch, 1, 12, 12] }],
    outputs: [{ name: 'probs', dtype: 'float32', shape: [batch, 10] }],
    nodes: [
      node('Conv', ['image', 'conv1/W', 'conv1/B'], ['c1'], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) }, 'conv1/Conv'),
      node('Relu', ['c1'], ['r1'], {}, 'conv1/Relu'),
      node('MaxPool', ['r1'], ['p1'], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) }, 'pool1/MaxPool'),
      node('Flatten', ['p1'], ['f1'], { axis: attr.int(1) }, 'flatten/Flatten'),
      node('Gemm', ['f1', 'fc/W', 'fc/B'], ['logits'], {}, 'fc/Gemm'),
      node('Softmax', ['logits'], ['probs'], { axis: attr.int(-1) }, 'softmax/Softmax'),
    ],
    initializers: [
      tensor('conv1/W', 'float32', [4, 1, 3, 3], randomFloats(36, r)),
      tensor('conv1/B', 'float32', [4], randomFloats(4, r, 0.1)),
      tensor('fc/W', 'float32', [144, 10], randomFloats(1440, r, 0.2)),
      tensor('fc/B', 'float32', [10], randomFloats(10, r, 0.1)),
    ],
  });
}

/** A residual block: x → a=relu(x·W1) → b=a·W2 → y = relu(x + b); the cut inside the block carries two tensors. */
export function residualModel(seed = 3): ModelProto {
  const r = seededRandom(seed);
  return makeModel({
    name: 'residual',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 3] }],
    nodes: [
      node('MatMul', ['x', 'stem/W'], ['s'], {}, 'stem/MatMul'),
      node('MatMul', ['s', 'block/W1'], ['a0'], {}, 'block_a/MatMul'),
      node('Relu', ['a0'], ['a'], {}, 'block_a/Relu'),
      node('MatMul', ['a', 'block/W2'], ['b'], {}, 'block_b/MatMul'),
      node('Add', ['s', 'b'], ['sum'], {}, 'add/Add'),
      node('Relu', ['sum'], ['z'], {}, 'add/Relu'),
      node('MatMul', ['z', 'head/W'], ['y'], {}, 'out/MatMul'),
    ],
    initializers: [
      tensor('stem/W', 'float32', [8, 8], randomFloats(64, r)),
      tensor('block/W1', 'float32', [8, 8], randomFloats(64, r)),
      tensor('block/W2', 'float32', [8, 8], randomFloats(64, r)),
      tensor('head/W', 'float32', [8, 3], randomFloats(24, r)),
    ],
  });
}

/** Two outputs: an early one (aux, after the first layer) and a late one (main). */
export function twoOutputModel(seed = 4): ModelProto {
  const r = seededRandom(seed);
  const d1 = dense('trunk', 'x', 'h', 6, 6, r, 'Relu');
  const d2 = dense('aux', 'h', 'aux_out', 6, 2, r, 'Sigmoid');
  const d3 = dense('main', 'h', 'main_out', 6, 5, r, 'Softmax');
  return makeModel({
    name: 'two_outputs',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 6] }],
    outputs: [{ name: 'aux_out', dtype: 'float32', shape: ['batch', 2] }, { name: 'main_out', dtype: 'float32', shape: ['batch', 5] }],
    nodes: [...d1.nodes, ...d2.nodes, ...d3.nodes],
    initializers: [...d1.inits, ...d2.inits, ...d3.inits],
  });
}

/** One weight (tied/W) used by the first and the last layer. */
export function sharedWeightModel(seed = 5): ModelProto {
  const r = seededRandom(seed);
  return makeModel({
    name: 'shared_weight',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 4] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 4] }],
    nodes: [
      node('MatMul', ['x', 'tied/W'], ['a'], {}, 'enc/MatMul'),
      node('Tanh', ['a'], ['b'], {}, 'act/Tanh'),
      node('MatMul', ['b', 'tied/W'], ['y'], {}, 'dec/MatMul'),
    ],
    initializers: [tensor('tied/W', 'float32', [4, 4], randomFloats(16, r))],
  });
}

/** The CNN with a fixed batch of 2 (no dynamic dimension). */
export function fixedBatchModel(seed = 6): ModelProto {
  return cnnModel(seed, 2);
}

/**
 * x[N,4] → MatMul [4,65536] → Relu → MatMul [65536,3] → y[N,3]: a wide cut (256 KiB per row)
 * after the second layer, so that 257 rows exceed the enclave protocol's 64 MiB frame.
 * Not in {@link TEST_MODELS} (its 1.8 MB of weights would slow every split test down).
 */
export function wideCutModel(seed = 7, width = 65536): ModelProto {
  const r = seededRandom(seed);
  return makeModel({
    name: 'wide_cut',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 4] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 3] }],
    nodes: [
      node('MatMul', ['x', 'wide/W'], ['w0'], {}, 'wide/MatMul'),
      node('Relu', ['w0'], ['w'], {}, 'relu/Relu'),
      node('MatMul', ['w', 'out/W'], ['y'], {}, 'out/MatMul'),
    ],
    initializers: [tensor('wide/W', 'float32', [4, width], randomFloats(4 * width, r)), tensor('out/W', 'float32', [width, 3], randomFloats(width * 3, r, 0.01))],
  });
}

/** Every test model by name, with the batch sizes it accepts (null = any). */
export const TEST_MODELS: Record<string, { build: () => ModelProto; fixedBatch: number | null }> = {
  mlp: { build: () => mlpModel(), fixedBatch: null },
  cnn: { build: () => cnnModel(), fixedBatch: null },
  residual: { build: () => residualModel(), fixedBatch: null },
  two_outputs: { build: () => twoOutputModel(), fixedBatch: null },
  shared_weight: { build: () => sharedWeightModel(), fixedBatch: null },
  fixed_batch: { build: () => fixedBatchModel(), fixedBatch: 2 },
};
