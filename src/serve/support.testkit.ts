/**
 * Test support for the server: a split MLP sealed into a bundle, its unsplit model for reference
 * outputs, and a server on it. Not part of the API.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelProto } from 'onnx-buf';
import { encodeProviderKeyFile } from '../bundle/provider-key.ts';
import type { ProviderKey } from '../bundle/types.ts';
import { runOnnx, type TensorData } from '../onnx/ort.ts';
import { mlpModel, seededRandom } from '../onnx/models.testkit.ts';
import { bundleOfSplit, everySplit } from '../runtime/support.testkit.ts';
import { readBundle } from '../bundle/read.ts';
import type { Bundle } from '../bundle/types.ts';

/** The MLP x[batch,16] → y[batch,4] split with one public layer, as bundle, key and unsplit model. */
export async function mlpBundle(): Promise<{ model: ModelProto; bundle: Bundle; bytes: Uint8Array; providerKey: ProviderKey }> {
  const model = mlpModel();
  const { splits } = await everySplit(model);
  const { bytes, providerKey } = bundleOfSplit(splits[1]!);
  return { model, bundle: readBundle(bytes), bytes, providerKey };
}

/** Writes the bundle and its provider key file into `dir` as `mlp.enn`, `mlp.enn.key`. */
export function writeMlpFiles(dir: string, b: { bytes: Uint8Array; providerKey: ProviderKey }): { bundlePath: string; keyPath: string } {
  const bundlePath = join(dir, 'mlp.enn');
  const keyPath = join(dir, 'mlp.enn.key');
  writeFileSync(bundlePath, b.bytes);
  writeFileSync(keyPath, encodeProviderKeyFile(b.providerKey), { mode: 0o600 });
  return { bundlePath, keyPath };
}

/** `samples` rows of 16 floats from a seeded generator (values as float32). */
export function mlpInput(samples: number, seed: number): TensorData {
  const r = seededRandom(seed);
  return { dtype: 'float32', dims: [samples, 16], data: Float32Array.from({ length: samples * 16 }, () => r() * 2 - 1) };
}

/** The unsplit model's `y` for `x`: the reference every served answer must equal. */
export async function reference(model: ModelProto, x: TensorData): Promise<TensorData> {
  return (await runOnnx(model, { x })).y!;
}
