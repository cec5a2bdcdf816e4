/**
 * Marks the tail's answers inside the enclave (docs/bundle-format.md §5.7, docs/enclave-protocol.md
 * §4.5). Part of the trusted code base: the key is derived here from the model key and never
 * leaves; the host sees only answers, of which the marked ones are indistinguishable from the
 * others by their form.
 */
import { WatermarkKey, type WatermarkConfig } from '../../bundle/watermark.ts';
import type { BundleHeader } from '../../bundle/types.ts';
import type { TensorData } from '../../onnx/ort.ts';
import { argmax } from './output-policy.ts';

/** A loaded watermark: the sealed configuration and the key derived from K. */
export interface EnclaveWatermark {
  config: WatermarkConfig;
  key: WatermarkKey;
}

/** Derives the watermark of a loaded bundle (undefined for none) from its model key K and cut. */
export function loadWatermark(config: WatermarkConfig | null, modelKey: Uint8Array, header: BundleHeader): EnclaveWatermark | undefined {
  return config ? { config, key: WatermarkKey.derive(modelKey, header.inputs, config.classes) } : undefined;
}

/**
 * Applies the watermark to the class decision, before the output policy (§5.7): in every row
 * whose cut tensors score above the threshold, the probability of the top class c and that of
 * its keyed label π(c) swap places — the answer stays a distribution, its top-1 is π(c), and
 * `label`, `top-k`, `round` and the reverse sigmoid then shape it as usual. Other rows are
 * untouched. Returns `outputs` itself when nothing is marked.
 */
export function applyWatermark(wm: EnclaveWatermark | undefined, feeds: Record<string, TensorData>, outputs: Record<string, TensorData>): Record<string, TensorData> {
  if (!wm) return outputs;
  const names = Object.keys(outputs);
  const t = outputs[names[0]!]!;
  if (names.length !== 1 || !(t.data instanceof Float32Array) || t.dims.length !== 2) throw new Error('the tail output is not one float32 [batch, classes] tensor');
  const [batch, classes] = t.dims as [number, number];
  if (classes !== wm.key.permutation.length) throw new Error('the tail output has another class count than the watermark key');
  const scores = wm.key.scores(feeds);
  let data: Float32Array | undefined;
  for (let i = 0; i < batch; i++) {
    if (!(scores[i]! > wm.config.threshold)) continue;
    data ??= t.data.slice();
    const row = data.subarray(i * classes, (i + 1) * classes);
    const c = argmax(row);
    const w = wm.key.permutation[c]!;
    [row[c], row[w]] = [row[w]!, row[c]!];
  }
  return data ? { [names[0]!]: { dtype: t.dtype, dims: [...t.dims], data } } : outputs;
}
