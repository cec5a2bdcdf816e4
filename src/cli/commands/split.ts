import { existsSync } from 'node:fs';
import { encodeModel } from '../../onnx/codec.ts';
import { maxAbsDiff, randomFeeds, runOnnx } from '../../onnx/ort.ts';
import { seededRandom } from '../../util/seeded-prng.ts';
import { formatShape } from '../../onnx/tensor-spec.ts';
import { splitModel, type SplitResult } from '../../split/extract.ts';
import { runSplit } from '../../split/split-runner.ts';
import { loadModel } from '../../load.ts';
import { writeFilesAtomic, type PendingFile } from '../../util/atomic-write.ts';
import { EnclaveNnError } from '../../errors.ts';
import { intOption, parseCommandArgs, required } from '../args.ts';
import { MEASUREMENT_OPTIONS, MEASUREMENT_USAGE, policyEntry, readMeasurements } from '../measurement-options.ts';
import type { Command } from '../command.ts';

const usage = `usage: enclave-nn split <model> (--private N | --at LAYER) (-o model.enn [--key-out provider.key] | --head head.onnx --tail tail.onnx)
                  [--allow-shared-weights] [--model-id ID] [--license-server URL] [--no-verify]
                  [--platform sim|gramine-sgx [--mrenclave HEX]… [--mrsigner HEX]… [--min-svn N]]

Cuts the model: the last N layers (or everything after LAYER) become the private tail.
With -o, writes the sealed bundle and the provider key file (mode 0600; default <out>.key);
the bundle's enclave policy (docs/bundle-format.md §4.5) is the one platform the words name:
${MEASUREMENT_USAGE}
With --head/--tail, writes the two plain ONNX halves (for inspection; the tail is not protected).
Unless --no-verify, checks on a random input that head + tail reproduce the model's output.`;

/** Runs head + tail and the whole model on one random input; returns the largest difference. */
export async function verifySplit(model: Parameters<typeof runOnnx>[0], split: SplitResult): Promise<number> {
  const feeds = randomFeeds(split.inputs, 1, seededRandom(42));
  const want = await runOnnx(model, feeds);
  const got = await runSplit(split, feeds);
  return Math.max(...Object.keys(want).map((k) => maxAbsDiff(got[k]!, want[k]!)));
}

const command: Command = {
  name: 'split',
  summary: 'Cut a model into a public head and a private tail (or a sealed .enn bundle)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('split', argv, {
      private: { type: 'string' }, at: { type: 'string' }, out: { type: 'string', short: 'o' }, 'key-out': { type: 'string' },
      head: { type: 'string' }, tail: { type: 'string' }, 'allow-shared-weights': { type: 'boolean' },
      'model-id': { type: 'string' }, 'license-server': { type: 'string' }, 'no-verify': { type: 'boolean' }, ...MEASUREMENT_OPTIONS,
    });
    const path = required('split', 'the model file', positionals[0]);
    if ((values.private === undefined) === (values.at === undefined)) throw new EnclaveNnError('USAGE', "Cannot run 'split': give exactly one of --private N or --at LAYER");
    if (!values.out && !(values.head && values.tail)) throw new EnclaveNnError('USAGE', "Cannot run 'split': give -o model.enn, or both --head and --tail");
    const policy = { platforms: [policyEntry('split', readMeasurements('split', values))] };
    const model = await loadModel(path);
    const split = await splitModel(model, {
      privateLayers: values.private === undefined ? undefined : intOption('split', '--private', values.private, 0),
      at: values.at, allowSharedWeights: values['allow-shared-weights'],
    });
    const cutText = split.cutTensors.map((t) => `${t.name} ${t.dtype}${formatShape(t.shape)}`).join(', ');
    const files: PendingFile[] = [];
    if (values.out) {
      const keyOut = values['key-out'] ?? `${values.out}.key`;
      if (existsSync(keyOut)) throw new EnclaveNnError('FILE_EXISTS', `Cannot write provider key ${keyOut}: it exists (a key file is never overwritten; remove it or pass --key-out)`);
      const { createBundle, encodeProviderKeyFile } = await import('../../bundle/index.ts');
      const { bytes, providerKey } = createBundle({
        head: split.head ? encodeModel(split.head) : new Uint8Array(0), tail: encodeModel(split.tail),
        inputs: split.cutTensors, outputs: split.tailOutputs, headInputs: split.inputs,
        modelId: values['model-id'], licenseServer: values['license-server'], policy,
      });
      if (policy.platforms[0]!.kind === 'sim') io.stderr('enclave-nn: INSECURE: --platform sim (the default): this bundle\'s key goes to any sim enclave, which protects nothing; for development only (production: --platform gramine-sgx)\n');
      files.push({ path: values.out, bytes }, { path: keyOut, bytes: encodeProviderKeyFile(providerKey), mode: 0o600 });
    }
    if (values.head && split.head) files.push({ path: values.head, bytes: encodeModel(split.head) });
    if (values.tail) files.push({ path: values.tail, bytes: encodeModel(split.tail) });
    let verified = '';
    if (!values['no-verify']) {
      const d = await verifySplit(model, split);
      if (!(d <= 1e-5)) throw new EnclaveNnError('SPLIT_VERIFY', `Cannot split ${path}: head + tail differ from the model by ${d} on a random input`, { exitCode: 1 });
      verified = `; verified: head + tail reproduce the model (max abs diff ${d.toExponential(2)})`;
    }
    writeFilesAtomic(files);
    io.stdout(`split ${path}: ${split.cut.privateLayers} private layer(s) from '${split.cut.firstPrivateLayer}'; cut: ${cutText}${verified}\n`);
    for (const f of files) io.stdout(`wrote ${f.path}${f.mode === 0o600 ? ' (secret: provider key, mode 0600)' : ''}\n`);
    if (values.head && !split.head) io.stdout('no head: every layer is private\n');
    return 0;
  },
};
export default command;
