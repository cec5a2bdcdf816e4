/**
 * The pretrained attacker's substitute (docs/attack.md §3.4): a public, already trained TF.js
 * model of the same task, fine-tuned on the enclave's answers (Knockoff Nets and TEESlice's
 * "knowledgeable adversary" start from public weights). It applies where the cut is the model's
 * input (the whole model in the enclave) and the public model takes that input as it is.
 * Exported as ONNX through the project's TF.js → ONNX importer.
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnclaveNnError } from '../errors.ts';
import { importModel } from '../import/index.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';
import { loadTfjsModel, saveTfjsModel } from '../tfjs/save-tfjs.ts';
import type { Trainable } from './substitute.ts';

/**
 * Loads the public model at `modelJsonPath` as a substitute for the cut `spec` with `classes`
 * outputs. Its weights are the starting point (never re-initialised); it runs in inference mode
 * (dropout off, batch norm with its stored statistics) while its weights are fine-tuned.
 * Throws ATTACK_PRETRAINED when its input or output does not fit.
 */
export async function pretrainedSubstitute(modelJsonPath: string, spec: TensorSpec, classes: number): Promise<Trainable> {
  const model = await loadTfjsModel(modelJsonPath);
  const inShape = model.inputs[0]!.shape.slice(1);
  const want = spec.shape.slice(1);
  const outShape = model.outputs[0]!.shape;
  const fail = (why: string) => { model.dispose(); return new EnclaveNnError('ATTACK_PRETRAINED', `Cannot start from the public model ${modelJsonPath}: ${why}`); };
  if (inShape.length !== want.length || inShape.some((d, i) => d !== null && typeof want[i] === 'number' && d !== want[i])) {
    throw fail(`it takes [${inShape.join(',')}], the cut is [${want.join(',')}]`);
  }
  if (outShape[outShape.length - 1] !== classes) throw fail(`it has ${outShape[outShape.length - 1]} outputs, the enclave answers ${classes}`);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const last = model.layers[model.layers.length - 1]!.getConfig() as { activation?: string };
  const softmax = last.activation === 'softmax';
  return {
    variables,
    forward: (feeds) => model.apply(feeds[spec.name]!, { training: false }) as tf.Tensor,
    outputKind: softmax ? 'softmax' : classes === 1 ? 'sigmoid' : 'logits',
    scaleInputs: false, // the public model expects the input as the product takes it
    description: `public pretrained ${model.name} (${model.countParams()} parameters, fine-tuned)`,
    async toOnnx() {
      const dir = mkdtempSync(join(tmpdir(), 'enn-pretrained-'));
      try {
        const { modelJsonPath: saved } = await saveTfjsModel(model, dir);
        const onnx = await importModel(saved);
        // The stolen copy takes the cut by the header's name.
        const g = onnx.graph!;
        const old = g.input[0]!.name;
        g.input[0]!.name = spec.name;
        for (const n of g.node) n.input = n.input.map((i) => (i === old ? spec.name : i));
        return onnx;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    dispose: () => model.dispose(),
  };
}
