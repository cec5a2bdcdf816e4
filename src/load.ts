import { extname } from 'node:path';
import type { ModelProto } from 'onnx-buf';
import { loadModelFile } from './onnx/codec.ts';

/**
 * Loads a model from a file as an ONNX ModelProto, whatever its format: `.onnx` directly
 * (external data inlined), Keras (`.h5`, `.hdf5`, `.keras`) and TF.js (`model.json`) through the
 * importer. Throws EnclaveNnError with a one-line message naming the file on bad input.
 *
 * @example
 * ```ts
 * const model = await loadModel('examples/out/mnist/tfjs/model.json');
 * ```
 */
export async function loadModel(path: string): Promise<ModelProto> {
  const ext = extname(path).toLowerCase();
  if (ext === '.json' || ext === '.h5' || ext === '.hdf5' || ext === '.keras') {
    const { importModel } = await import('./import/index.ts');
    return importModel(path);
  }
  return loadModelFile(path);
}
