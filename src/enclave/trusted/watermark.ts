/**
 * Marks the tail's answers inside the enclave (docs/bundle-format.md §5.7, docs/enclave-protocol.md
 * §4.5), and builds the one function that turns the tail's raw outputs into the answer: the
 * watermark, then the output policy. Part of the trusted code base: the watermark key is derived
 * here from the model key and never leaves; the host sees only answers, of which the marked ones
 * are indistinguishable from the others by their form.
 */
import type { OutputPolicy } from '../../bundle/output-policy.ts';
import { WatermarkKey, type WatermarkConfig } from '../../bundle/watermark.ts';
import type { BundleHeader } from '../../bundle/types.ts';
import { ProtocolError } from '../../enclave-protocol/index.ts';
import { elementCount } from '../../enclave-protocol/tensors.ts';
import type { TensorData } from '../../onnx/ort.ts';
import { applyOutputPolicy, argmax } from './output-policy.ts';

/** What the enclave answers for the tail's raw outputs on `feeds` (§4.5). Throws a plain Error when the outputs do not fit. */
export type Answer = (feeds: Record<string, TensorData>, outputs: Record<string, TensorData>) => Record<string, TensorData>;

/**
 * The answer function of a loaded bundle, built once at LOAD from what was sealed with the tail:
 * the watermark (§5.7; none when `watermark` is null), keyed by the model key K inside the
 * enclave, then the output policy (§5.6). Throws ProtocolError `BUNDLE` when the sealed
 * watermark does not fit the header's cut (a writer that skipped its checks).
 *
 * @example
 * ```ts
 * const answer = answerOf(opener.outputPolicy, opener.watermark, modelKey, header);
 * const y = answer(feeds, await session.run(feeds));
 * ```
 */
export function answerOf(policy: OutputPolicy, watermark: WatermarkConfig | null, modelKey: Uint8Array, header: BundleHeader): Answer {
  if (!watermark) return (_feeds, outputs) => applyOutputPolicy(policy, outputs);
  let key: WatermarkKey;
  try {
    key = WatermarkKey.derive(modelKey, header.inputs, watermark.classes);
  } catch (cause) {
    throw new ProtocolError('BUNDLE', 'Cannot load bundle: its sealed watermark does not fit its cut', { cause });
  }
  return (feeds, outputs) => applyOutputPolicy(policy, applyWatermark(watermark, key, feeds, outputs));
}

/**
 * Checks at LOAD, once the engine session exists, that the tail answers what the sealed
 * watermark marks: one float32 [batch, C] output with the record's C (docs/bundle-format.md
 * §5.7). The header cannot tell: under `label` and `top-k` it hides C. So the tail runs once on
 * one all-zero row of the cut (float32 with fixed sizes, which {@link answerOf} checked), outside
 * FORWARD: no credit, no monitor, nothing leaves. Without this, a record for another C would fail
 * every FORWARD instead of the LOAD. No watermark: nothing to check. Throws ProtocolError
 * `BUNDLE` (the class counts stay out of the message: the tail's shapes are private) or `ENGINE`.
 */
export async function checkWatermarkFitsTail(
  watermark: WatermarkConfig | null, header: BundleHeader, run: (feeds: Record<string, TensorData>) => Promise<Record<string, TensorData>>,
): Promise<void> {
  if (!watermark) return;
  const feeds: Record<string, TensorData> = {};
  for (const t of header.inputs) {
    const dims = t.shape.map((d) => (typeof d === 'number' ? d : 1));
    feeds[t.name] = { dtype: 'float32', dims, data: new Float32Array(elementCount(dims)) };
  }
  let outputs: Record<string, TensorData>;
  try {
    outputs = await run(feeds);
  } catch (cause) {
    throw new ProtocolError('ENGINE', 'Cannot load bundle: the tail did not run on the probe row that checks its sealed watermark', { cause });
  }
  if (scoreOutput(outputs)?.classes !== watermark.classes) {
    throw new ProtocolError('BUNDLE', 'Cannot load bundle: its sealed watermark does not fit the tail\'s output (one float32 [batch, classes] tensor with the record\'s class count)');
  }
}

/**
 * Applies the watermark to the class decision, before the output policy (§5.7): in every row
 * whose cut tensors score above the threshold, the probability of the top class c and that of
 * its keyed label π(c) swap places — the answer stays a distribution, its top-1 is π(c), and
 * `label`, `top-k`, `round` and the reverse sigmoid then shape it as usual. Other rows are
 * untouched. Returns `outputs` itself when nothing is marked.
 */
function applyWatermark(config: WatermarkConfig, key: WatermarkKey, feeds: Record<string, TensorData>, outputs: Record<string, TensorData>): Record<string, TensorData> {
  const out = scoreOutput(outputs);
  if (!out) throw new Error('the tail output is not one float32 [batch, classes] tensor');
  const { name, t, batch, classes } = out;
  if (classes !== key.permutation.length) throw new Error('the tail output has another class count than the watermark key');
  const scores = key.scores(feeds);
  let data: Float32Array | undefined;
  for (let i = 0; i < batch; i++) {
    if (!(scores[i]! > config.threshold)) continue;
    data ??= t.data.slice();
    const row = data.subarray(i * classes, (i + 1) * classes);
    const c = argmax(row);
    const w = key.permutation[c]!;
    [row[c], row[w]] = [row[w]!, row[c]!];
  }
  return data ? { [name]: { dtype: t.dtype, dims: [...t.dims], data } } : outputs;
}

/** The tail's one float32 [batch, classes] output, the only kind the watermark marks; undefined for any other outputs. */
function scoreOutput(outputs: Record<string, TensorData>): { name: string; t: TensorData & { data: Float32Array }; batch: number; classes: number } | undefined {
  const names = Object.keys(outputs);
  const t = outputs[names[0]!];
  if (names.length !== 1 || !t || !(t.data instanceof Float32Array) || t.dims.length !== 2) return undefined;
  return { name: names[0]!, t: t as TensorData & { data: Float32Array }, batch: t.dims[0]!, classes: t.dims[1]! };
}
