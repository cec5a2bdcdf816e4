/**
 * Enclave-NN's library face (the package root, `import … from 'enclave-nn'`): load, import,
 * inspect and split a model; seal and read bundles; run a {@link Session} with a key from a
 * license server, a license file or (INSECURE, development) the provider key; read inputs
 * (.npy, JSON); serve licenses; one error class with stable codes.
 *
 * @example
 * ```ts
 * import { Session, licenseServerKeyProvider, readNpy } from 'enclave-nn';
 * const session = await Session.create({ bundle: 'model.enn', keySource: licenseServerKeyProvider({ server: 'http://127.0.0.1:7070', licenseId: 'lic-acme' }) });
 * const [input] = session.inputs;
 * const outputs = await session.run({ [input.name]: readNpy(readFileSync('x.npy')) });
 * await session.close();
 * ```
 */
import type { ModelProto } from 'onnx-buf';
import { GraphView } from './onnx/graph.ts';
import { listCuts, type CutList } from './split/cuts.ts';

export { loadModel } from './load.ts';
export { EnclaveNnError, isErrorCode, errorLine } from './errors.ts';
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
export {
  createBundle, readBundle, readBundleFile, writeBundleFile, openSealedTail, readProviderKeyFile, writeProviderKeyFile,
  type Bundle, type BundleHeader, type ProviderKey,
} from './bundle/index.ts';
export {
  Session, insecureDevKeyProvider, readNpy, writeNpy, readInputs, describeOutputs,
  type SessionOptions, type RunResult, type KeyProvider, type KeySource, type InsecureDevKeySource,
} from './runtime/index.ts';
export {
  licenseServerKeyProvider, licenseFileKeyProvider, createLicenseRequest, checkIn, runLicensed, LicenseClient,
  LicenseServer, LicenseService, openStore,
  type LicenseServerSource, type LicenseFileSource, type LicenseServiceOptions, type ModelPolicy,
} from './license/index.ts';
export { runBench, type BenchOptions } from './bench/run.ts';
export type { BenchReport } from './report/types.ts';
