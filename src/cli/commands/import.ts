import { encodeModel } from '../../onnx/codec.ts';
import { formatShape } from '../../onnx/tensor-spec.ts';
import { specFromValueInfo } from '../../onnx/types.ts';
import { writeFilesAtomic } from '../../util/atomic-write.ts';
import { EnclaveNnError } from '../../errors.ts';
import { parseCommandArgs, required } from '../args.ts';
import type { Command } from '../command.ts';

const usage = `usage: enclave-nn import <model.json|model.h5|model.hdf5|model.keras> -o model.onnx [--format tfjs|hdf5|keras]

Converts a Keras (HDF5, Keras 3 .keras) or TF.js Layers model to ONNX (opset 17). The ONNX model
keeps the Keras interface: input and output names, channels-last shapes with a 'batch' dimension,
dtypes; each node is named <keras layer>/<op>, so inspect and split --at use Keras layer names.
An unsupported layer or a weights-only HDF5 file is refused and nothing is written.`;

const command: Command = {
  name: 'import',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('import', argv, { out: { type: 'string', short: 'o' }, format: { type: 'string' } });
    const path = required('import', 'the model file', positionals[0]);
    const out = required('import', '-o model.onnx', values.out);
    if (positionals.length > 1) throw new EnclaveNnError('USAGE', `Cannot run 'import': unexpected argument '${positionals[1]}'`);
    const format = values.format;
    if (format !== undefined && format !== 'tfjs' && format !== 'hdf5' && format !== 'keras') {
      throw new EnclaveNnError('USAGE', `Cannot run 'import': --format must be tfjs, hdf5 or keras, got '${format}'`);
    }
    const { importModel } = await import('../../import/index.ts');
    const model = await importModel(path, { format });
    const bytes = encodeModel(model);
    writeFilesAtomic([{ path: out, bytes }]);
    const g = model.graph!;
    const describe = (vi: Parameters<typeof specFromValueInfo>[0]) => {
      const s = specFromValueInfo(vi);
      return s ? `${s.name} ${s.dtype}${formatShape(s.shape)}` : vi.name;
    };
    const layers = new Set(g.node.map((n) => n.name.slice(0, n.name.lastIndexOf('/'))));
    io.stdout(`imported ${path}: ${layers.size} layers, ${g.node.length} nodes, ${g.initializer.length} weights; inputs ${g.input.map(describe).join(', ')}; outputs ${g.output.map(describe).join(', ')}\n`);
    io.stdout(`wrote ${out} (${bytes.byteLength} bytes)\n`);
    return 0;
  },
};
export default command;
