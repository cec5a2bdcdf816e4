import { EnclaveNnError } from '../../errors.ts';
import { GRAMINE_VERSIONS, type GramineVersion } from '../../gramine/manifest.ts';
import { prepareGramine } from '../../gramine/prepare.ts';
import type { SealPolicy } from '../../platform/types.ts';
import { intOption, parseCommandArgs } from '../args.ts';
import type { Command } from '../command.ts';

const usage = `usage: enclave-nn gramine manifest [-o DIR] [--gramine-version 1.9] [--bundle model.enn | --tail-size BYTES]
                [--enclave-size SIZE] [--edmm] [--ort-threads 2] [--max-threads N]
                [--seal mrsigner|mrenclave] [--isvprodid 1] [--isvsvn 1] [--debug]

Writes DIR/enclave-nn.manifest.template (Gramine ${GRAMINE_VERSIONS.join(', ')}) and DIR/enclave-nn/ (the
gramine-sgx trusted program with the onnxruntime files it loads). The same inputs give the same
manifest in any folder. Then, on the SGX host: gramine-manifest, gramine-sgx-sign,
gramine-sgx-sigstruct-view (docs/deploy-sgx.md).
  -o DIR              where to write (default out/gramine)
  --bundle, --tail-size  size the enclave for this tail (the bundle's padded tail size)
  --enclave-size      a power of two; default 2G for tails up to ~170 MiB (see the manifest's comment)
  --edmm              sgx.edmm_enable: memory added on demand (Linux >= 6.0, an SGX2 CPU)
  --ort-threads       onnxruntime intra-op threads; sgx.max_threads is derived from it
  --seal              what sealed state is bound to; default mrsigner (survives upgrades)
  --isvsvn            the security version: raise it with each security fix
  --debug             a debuggable enclave (never for production)`;

const command: Command = {
  name: 'gramine',
  summary: 'Write the Gramine SGX manifest template and program folder (docs/deploy-sgx.md)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('gramine', argv, {
      out: { type: 'string', short: 'o' }, debug: { type: 'boolean' }, edmm: { type: 'boolean' }, 'enclave-size': { type: 'string' },
      'max-threads': { type: 'string' }, 'ort-threads': { type: 'string' }, 'tail-size': { type: 'string' }, bundle: { type: 'string' },
      seal: { type: 'string' }, isvprodid: { type: 'string' }, isvsvn: { type: 'string' }, 'gramine-version': { type: 'string' },
    });
    if (positionals[0] !== 'manifest' || positionals.length !== 1) throw new EnclaveNnError('USAGE', "Cannot run 'gramine': the only subcommand is 'manifest'");
    if (values.bundle && values['tail-size']) throw new EnclaveNnError('USAGE', "Cannot run 'gramine manifest': give --bundle or --tail-size, not both");
    const seal = values.seal ?? 'mrsigner';
    if (seal !== 'mrsigner' && seal !== 'mrenclave') throw new EnclaveNnError('USAGE', `Cannot run 'gramine manifest': --seal must be mrsigner or mrenclave, got '${seal}'`);
    const version = values['gramine-version'] ?? '1.9';
    if (!(GRAMINE_VERSIONS as readonly string[]).includes(version)) {
      throw new EnclaveNnError('USAGE', `Cannot run 'gramine manifest': Gramine ${version} is not supported (supported: ${GRAMINE_VERSIONS.join(', ')}; 1.6 and older allow Node's eventfd only through an insecure__ option)`);
    }
    const int = (flag: string) => (values[flag as keyof typeof values] === undefined ? undefined : intOption('gramine', `--${flag}`, values[flag as keyof typeof values] as string, 0, 0));
    let tailSize = int('tail-size');
    if (values.bundle) {
      const { readBundleFile } = await import('../../bundle/index.ts');
      tailSize = (await readBundleFile(values.bundle)).header.tail.paddedSize;
    }
    let r;
    try {
      r = await prepareGramine({
        out: values.out ?? 'out/gramine', debug: values.debug, edmm: values.edmm, enclaveSize: values['enclave-size'], tailSize,
        maxThreads: int('max-threads'), ortThreads: int('ort-threads'), sealPolicy: seal as SealPolicy,
        isvProdId: int('isvprodid'), isvSvn: int('isvsvn'), gramineVersion: version as GramineVersion,
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
