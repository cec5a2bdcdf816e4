import { EnclaveNnError } from '../../errors.ts';
import { prepareGramine } from '../../gramine/prepare.ts';
import { intOption, parseCommandArgs } from '../args.ts';
import type { Command } from '../command.ts';

const usage = `usage: enclave-nn gramine manifest [-o DIR] [--debug] [--enclave-size 4G] [--max-threads 32]

Writes DIR/enclave-nn.manifest.template (Gramine) and DIR/enclave-nn/ (the bundled trusted
program with the onnxruntime files it loads). Then, on the SGX host: gramine-manifest,
gramine-sgx-sign, gramine-sgx-sigstruct-view (docs/deploy-sgx.md).
  -o DIR   where to write (default out/gramine)
  --debug  a debuggable enclave (never for production)`;

const command: Command = {
  name: 'gramine',
  summary: 'Write the Gramine SGX manifest template and program folder (docs/deploy-sgx.md)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('gramine', argv, {
      out: { type: 'string', short: 'o' }, debug: { type: 'boolean' }, 'enclave-size': { type: 'string' }, 'max-threads': { type: 'string' },
    });
    if (positionals[0] !== 'manifest' || positionals.length !== 1) throw new EnclaveNnError('USAGE', "Cannot run 'gramine': the only subcommand is 'manifest'");
    let r;
    try {
      r = await prepareGramine({
        out: values.out ?? 'out/gramine', debug: values.debug, enclaveSize: values['enclave-size'],
        maxThreads: values['max-threads'] === undefined ? undefined : intOption('gramine', '--max-threads', values['max-threads'], 32, 1),
      });
    } catch (e) {
      if (e instanceof RangeError) throw new EnclaveNnError('USAGE', `Cannot run 'gramine manifest': ${e.message}`);
      throw e;
    }
    if (values.debug) io.stderr('enclave-nn: INSECURE: --debug makes a debug enclave: its memory is readable by the host, and production policies refuse its quotes\n');
    io.stdout(`wrote ${r.manifest}\nwrote ${r.files.length} trusted program files under ${r.files[0]!.slice(0, r.files[0]!.lastIndexOf('/enclave-nn/') + 11)}\nnext: gramine-manifest, gramine-sgx-sign, gramine-sgx-sigstruct-view (docs/deploy-sgx.md)\n`);
    return 0;
  },
};
export default command;
