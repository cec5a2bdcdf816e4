import type { TensorData } from '../onnx/ort.ts';
import { runOnnx } from '../onnx/ort.ts';
import type { SplitResult } from './extract.ts';

/**
 * Runs a split model in-process, head then tail, the way a session does without the enclave:
 * the head gets the model inputs it reads, the tail gets the cut tensors (from the head, or the
 * model inputs passed straight through). Returns every model output. Used by tests and `split`'s
 * self-check.
 */
export async function runSplit(split: SplitResult, feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
  const headOut = split.head ? await runOnnx(split.head, pick(feeds, split.head.graph!.input.map((i) => i.name))) : {};
  const cutFeeds: Record<string, TensorData> = {};
  for (const t of split.cutTensors) cutFeeds[t.name] = headOut[t.name] ?? feeds[t.name]!;
  const tailOut = await runOnnx(split.tail, cutFeeds);
  const out: Record<string, TensorData> = {};
  for (const o of split.headOutputs) out[o.name] = headOut[o.name]!;
  for (const o of split.tailOutputs) out[o.name] = tailOut[o.name]!;
  return out;
}

function pick(feeds: Record<string, TensorData>, names: string[]): Record<string, TensorData> {
  return Object.fromEntries(names.filter((n) => n in feeds).map((n) => [n, feeds[n]!]));
}
