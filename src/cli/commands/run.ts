import { basename, dirname, extname, join } from 'node:path';
import { EnclaveNnError } from '../../errors.ts';
import { writeFilesAtomic, type PendingFile } from '../../util/atomic-write.ts';
import { parseCommandArgs, required } from '../args.ts';
import type { Command } from '../command.ts';

const usage = `usage: enclave-nn run <model.enn> --input x.npy|x.json [--input NAME=FILE …] [--output y.npy] [--json]
                [--engine ort|wasm] [--platform sim]
                (--insecure-dev-key provider.key | --server URL --license ID | --license-file license.json)
                [--license-state FILE] [--allow-nonfinite]

Runs the model: the public head here, the private tail in an enclave. Prints every output
and, for classifiers, the argmax of each row. --output writes the output as .npy (several
outputs: y.<name>.npy). Input: .npy (float32/float64/int64/int32/uint8/bool, C order) or JSON
({"<input>": nested arrays}, or a nested array for a single-input model).
--insecure-dev-key reads the provider's key on this machine: INSECURE, for development only.
With a license, the enclave's sealed license state (counters) is kept in --license-state
(default <model.enn>.<license id>.license, or <license.json>.state): later runs start offline
from it; on an exhausted quota, run checks in with --server once and retries.
A NaN or Inf in a float input is refused (naming the tensor and the first index) unless
--allow-nonfinite is given.`;

const command: Command = {
  name: 'run',
  summary: 'Run a bundle: the head here, the private tail in an enclave',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('run', argv, {
      input: { type: 'string', multiple: true, short: 'i' }, output: { type: 'string', short: 'o' }, json: { type: 'boolean' },
      engine: { type: 'string' }, platform: { type: 'string' }, 'insecure-dev-key': { type: 'string' },
      server: { type: 'string' }, license: { type: 'string' }, 'license-state': { type: 'string' }, 'license-file': { type: 'string' },
      'allow-nonfinite': { type: 'boolean' },
    });
    const allowNonfinite = values['allow-nonfinite'] ?? false;
    const bundlePath = required('run', 'the bundle file', positionals[0]);
    const inputs = required('run', '--input', values.input);
    const devKey = values['insecure-dev-key'];
    if ([devKey, values.server, values['license-file']].filter((v) => v !== undefined).length !== 1) {
      throw new EnclaveNnError('USAGE', "Cannot run 'run': give one of --insecure-dev-key provider.key (development), --server URL --license ID, or --license-file license.json");
    }
    const [{ readBundleFile }, { Session }, { readInputs, describeOutputs }, { writeNpy }] = await Promise.all([
      import('../../bundle/file.ts'), import('../../runtime/session.ts'), import('../../runtime/inputs.ts'), import('../../runtime/npy.ts'),
    ]);
    const bundle = await readBundleFile(bundlePath);
    // Read and check the inputs before starting an enclave: a bad input costs nothing.
    const feeds = readInputs(inputs, bundle.header.headInputs);
    const { checkFeeds } = await import('../../runtime/session.ts');
    checkFeeds(bundle.header.headInputs, feeds, { allowNonfinite });
    let keySource;
    let licensed: { server?: string; stateFile: string } | undefined;
    if (devKey !== undefined) {
      keySource = { kind: 'insecure-dev-key' as const, providerKey: devKey };
    } else if (values['license-file'] !== undefined) {
      const { licenseFileKeyProvider } = await import('../../license/air-gap.ts');
      licensed = { stateFile: values['license-state'] ?? `${values['license-file']}.state` };
      keySource = licenseFileKeyProvider({ file: values['license-file'], stateFile: licensed.stateFile });
    } else {
      const { licenseServerKeyProvider } = await import('../../license/client.ts');
      // The sealed license state lives next to the bundle (or the license file) by default: the next run starts offline from it.
      const server = values.server!;
      licensed = { server, stateFile: values['license-state'] ?? `${bundlePath}.${required('run', '--license', values.license)}.license` };
      keySource = licenseServerKeyProvider({ server, stateFile: licensed.stateFile, licenseId: required('run', '--license', values.license) });
    }
    const session = await Session.create({ bundle, keySource, engine: values.engine, platform: values.platform, allowNonfinite });
    let outputs;
    try {
      outputs = licensed ? await (await import('../../license/client.ts')).runLicensed(session, feeds, licensed) : await session.run(feeds);
    } finally {
      await session.close();
    }
    if (values.output) {
      const names = Object.keys(outputs);
      const out = values.output;
      const files: PendingFile[] = names.length === 1
        ? [{ path: out, bytes: writeNpy(outputs[names[0]!]!) }]
        : names.map((n) => ({ path: join(dirname(out), `${basename(out, extname(out))}.${n.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`), bytes: writeNpy(outputs[n]!) }));
      writeFilesAtomic(files);
      for (const f of files) io.stderr(`wrote ${f.path}\n`);
    }
    if (values.json) {
      io.stdout(JSON.stringify(Object.fromEntries(Object.entries(outputs).map(([k, t]) => [k, { dtype: t.dtype, dims: t.dims, data: Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? v.toString() : v)) }]))) + '\n');
    } else {
      io.stdout(describeOutputs(outputs));
    }
    return 0;
  },
};
export default command;
