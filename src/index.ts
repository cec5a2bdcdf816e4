/**
 * Enclave-NN's library face. Load a model, list its cuts, split it; the bundle, the enclave
 * session and the license client are exported from their folders as they land.
 *
 * @example
 * ```ts
 * import { loadModel, listModelCuts, splitModel } from 'enclave-nn';
 * const model = await loadModel('mnist.onnx');
 * const { layers, cuts } = await listModelCuts(model);
 * const { head, tail, cutTensors } = await splitModel(model, { privateLayers: 2 });
 * ```
 */
import type { ModelProto } from 'onnx-buf';
import { GraphView } from './onnx/graph.ts';
import { listCuts, type CutList } from './split/cuts.ts';

export { loadModel } from './load.ts';
export { EnclaveNnError, isErrorCode } from './errors.ts';
export { splitModel, extractAt, listCuts, runSplit, type Cut, type CutList, type SplitOptions, type SplitResult, type Layer } from './split/index.ts';
export { inspectModel, type Inspection, type LayerRow } from './split/inspect.ts';
export { GraphView, decodeModel, encodeModel, loadModelFile, runOnnx, type TensorData, type TensorSpec, type DType, type Dim, type ModelProto } from './onnx/index.ts';

/** Lists every cut of a model (types inferred by ONNX Runtime where the file lacks them). */
export async function listModelCuts(model: ModelProto): Promise<CutList> {
  const view = new GraphView(model);
  await view.inferTypes();
  return listCuts(view);
}

export { importModel } from './import/index.ts';
export { createBundle, readBundle, readBundleFile, openSealedTail, type Bundle, type BundleHeader, type ProviderKey } from './bundle/index.ts';
export { Session, type SessionOptions } from './runtime/index.ts';
export { runBench, type BenchOptions } from './bench/run.ts';
export type { BenchReport } from './report/types.ts';
