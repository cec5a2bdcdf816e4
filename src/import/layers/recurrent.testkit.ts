/**
 * Test support for the recurrent converters where the whole-model path (../support.testkit.ts) cannot
 * go: configurations TF.js cannot build (GRU `reset_after=true`) and edited configs for refusal
 * tests. Builds a one-layer TF.js model with seeded random weights, and converts that one layer
 * with its converter alone into a one-node-family ONNX model.
 */
import * as tf from '@tensorflow/tfjs';
import { makeModel } from '../../onnx/build.ts';
import { runOnnx, type TensorData } from '../../onnx/ort.ts';
import { randomFloats, seededRandom } from '../../onnx/models.testkit.ts';
import { GraphBuilder } from '../context.ts';
import type { KerasFlavor, LayerConverter, LayerWeight, SymTensor } from '../types.ts';

/** A Keras layer in its on-disk (snake_case) form with its weights, as the importer would see it. */
export interface LayerUnderTest {
  className: string;
  name: string;
  config: Record<string, unknown>;
  weights: LayerWeight[];
}

/**
 * Wraps `layer` in a model over inputs of `inputShape` (batch excluded), sets seeded random
 * weights in [-scale, scale) and returns the model and the layer as the importer sees it.
 */
export function tfjsLayer(layer: tf.layers.Layer, inputShape: (number | null)[], seed: number, scale = 0.6): { model: tf.LayersModel; layer: LayerUnderTest } {
  const input = tf.input({ shape: inputShape as number[] });
  const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor | tf.SymbolicTensor[] });
  const rand = seededRandom(seed);
  const shapes = layer.weights.map((w) => w.shape as number[]);
  const values = shapes.map((s) => randomFloats(s.reduce((a, b) => a * b, 1), rand, scale));
  layer.setWeights(values.map((v, i) => tf.tensor(v, shapes[i])));
  const json = model.toJSON(null, false) as unknown as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
  const entry = json.config.layers.find((l) => l.config.name === layer.name)!;
  return {
    model,
    layer: {
      className: entry.class_name,
      name: layer.name,
      config: entry.config,
      weights: layer.weights.map((w, i) => ({ name: w.originalName, shape: shapes[i]!, data: values[i]! })),
    },
  };
}

/** Converts one layer with `convert` into an ONNX model with input `x` of Keras shape `inputShape` (batch first, null batch). */
export function convertOne(convert: LayerConverter, l: LayerUnderTest, inputShape: (number | null)[], flavor: KerasFlavor = { kerasMajor: 2, tfjs: true }) {
  const g = new GraphBuilder(flavor);
  const x: SymTensor = { name: 'x', shape: inputShape, dtype: 'float32' };
  const outs = convert([x], l.weights, g.context({ className: l.className, name: l.name, config: l.config }));
  const dim = (d: number | null, i: number, who: string) => d ?? (i === 0 ? 'batch' : `${who}_d${i}`);
  const model = makeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: inputShape.map((d, i) => dim(d, i, 'x')) }],
    outputs: outs.map((o, k) => ({ name: o.name, dtype: o.dtype, shape: o.shape.map((d, i) => dim(d, i, `y${k}`)) })),
    nodes: g.nodes,
    initializers: g.initializers,
    opset: 17,
  });
  return { model, outputs: outs, nodes: g.nodes };
}

/** Runs the ONNX model on `x` and returns each output. */
export async function runOne(model: ReturnType<typeof convertOne>['model'], x: Float32Array, dims: number[]): Promise<TensorData[]> {
  const r = await runOnnx(model, { x: { dtype: 'float32', dims, data: x } });
  return model.graph!.output.map((o) => r[o.name]!);
}
