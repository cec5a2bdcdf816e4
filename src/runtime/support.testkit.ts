/**
 * Test helpers for the runtime: a bundle from a split, and the cuts of a model. Not part of
 * the library's API.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelProto } from 'onnx-buf';
import { createBundle } from '../bundle/create.ts';
import type { ProviderKey } from '../bundle/types.ts';
import { encodeModel } from '../onnx/codec.ts';
import { GraphView } from '../onnx/graph.ts';
import type { SplitResult } from '../split/extract.ts';
import { extractAt, listCuts } from '../split/index.ts';

/** Seals a split into bundle bytes (small 4 KiB buckets and chunks: many chunks, fast tests). */
export function bundleOfSplit(split: SplitResult, options: { chunkSize?: number } = {}): { bytes: Uint8Array; providerKey: ProviderKey } {
  return createBundle({
    head: split.head ? encodeModel(split.head) : new Uint8Array(0), tail: encodeModel(split.tail),
    inputs: split.cutTensors, outputs: split.tailOutputs, headInputs: split.inputs,
    bucketMinSize: 4096, chunkSize: options.chunkSize ?? 4096,
  });
}

/** Every split of `model`, most public first. */
export async function everySplit(model: ModelProto, allowSharedWeights = false): Promise<{ view: GraphView; splits: SplitResult[] }> {
  const view = new GraphView(model);
  await view.inferTypes();
  const list = listCuts(view);
  return { view, splits: list.cuts.map((c) => extractAt(view, c, { allowSharedWeights })) };
}

/** A fresh ENCLAVE_NN_HOME for a test file, so tests never touch the user's ~/.enclave-nn. */
export function useTempEnclaveHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'enn-home-'));
  process.env.ENCLAVE_NN_HOME = home;
  return home;
}

/** Node processes whose parent is this test process: enclaves still running (none after a clean close). */
export function childNodeProcesses(): string[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' }).split('\n').filter((l) => /node/.test(l));
  } catch {
    return [];
  }
}
