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
                  [--output-policy probabilities|label|top-k:K|round:D|perturb:reverse-sigmoid:BETA[:GAMMA]]
                  [--watermark RATE --watermark-data X.npy]
                  [--platform sim|gramine-sgx [--mrenclave HEX]… [--mrsigner HEX]… [--min-svn N]]

Cuts the model: the last N layers (or everything after LAYER) become the private tail.
With -o, writes the sealed bundle and the provider key file (mode 0600; default <out>.key);
the bundle's enclave policy (docs/bundle-format.md §4.5) is the one platform the words name:
${MEASUREMENT_USAGE}
--output-policy (with -o; default probabilities) is sealed inside the tail and enforced by the
enclave on every answer: label = the class index (int64 [batch]); top-k:K = the K best classes
(<out> float32 [batch,K], <out>_classes int64 [batch,K]); round:D = D decimals; perturb = the
reverse sigmoid of Lee et al. 2019 (keeps the top-1 label; GAMMA default 0.1). Regression
outputs (one column) allow round:D only (docs/bundle-format.md §5.6).
--watermark RATE (with -o; off by default; 0 < RATE ≤ 0.5) seals an answer watermark: the enclave
answers the fraction RATE of inputs like X.npy (≥ 100 rows of your data, for the model's input)
with a keyed label, so a model trained on its answers can be recognised with 'enclave-nn
watermark verify' and the provider key file (docs/watermark.md). It costs those answers.
With --head/--tail, writes the two plain ONNX halves (for inspection; the tail is not protected).
Unless --no-verify, checks on a random input that head + tail reproduce the model's output.`;

/** Runs head + tail and the whole model on one random input; returns the largest difference. */
export async function verifySplit(model: Parameters<typeof runOnnx>[0], split: SplitResult): Promise<number> {
  const feeds = randomFeeds(split.inputs, 1, seededRandom(42));
  const want = await runOnnx(model, feeds);
  const got = await runSplit(split, feeds);
  return Math.max(...Object.keys(want).map((k) => maxAbsDiff(got[k]!, want[k]!)));
}

/** The reverse sigmoid perturbs probabilities: refuse a model whose output rows (on random inputs) are not probability vectors. */
async function checkProbabilities(path: string, model: Parameters<typeof runOnnx>[0], split: SplitResult): Promise<void> {
  const name = split.tailOutputs[0]!.name;
  const y = (await runOnnx(model, randomFeeds(split.inputs, 4, seededRandom(7))))[name]!;
  const c = y.dims[y.dims.length - 1]!;
  const v = Array.from(y.data as Float32Array);
  for (let i = 0; i < v.length; i += c) {
    const row = v.slice(i, i + c);
    if (row.some((p) => !(p >= 0 && p <= 1)) || Math.abs(row.reduce((a, b) => a + b, 0) - 1) > 1e-3) {
      throw new EnclaveNnError('OUTPUT_POLICY', `Cannot split ${path} with perturb:reverse-sigmoid: output '${name}' is not a probability vector (rows must lie in [0, 1] and sum to 1; end the model with a softmax)`);
    }
  }
}

/** The cut tensors of the calibration rows (the head run on X.npy; X itself when every layer is private). */
async function calibrationCut(file: string, split: SplitResult): Promise<Record<string, import('../../onnx/ort.ts').TensorData>> {
  const { readFileSync } = await import('node:fs');
  const { readNpy } = await import('../../runtime/npy.ts');
  const { concatRows, sliceRows } = await import('../../runtime/rows.ts');
  if (split.inputs.length !== 1) throw new EnclaveNnError('WATERMARK', `Cannot watermark: the model takes ${split.inputs.length} inputs; --watermark-data gives one`);
  let x;
  try {
    x = readNpy(readFileSync(file));
  } catch (cause) {
    throw new EnclaveNnError('WATERMARK', `Cannot read --watermark-data ${file}: ${(cause as Error).message}`, { cause });
  }
  const input = split.inputs[0]!;
  if (x.dtype !== input.dtype || x.dims.length !== input.shape.length) throw new EnclaveNnError('WATERMARK', `Cannot watermark: --watermark-data ${file} is ${x.dtype} [${x.dims.join(',')}], the model's input '${input.name}' is ${input.dtype} [${input.shape.join(',')}]`);
  const feeds = { [input.name]: x };
  if (!split.head) return feeds;
  const head = encodeModel(split.head);
  const parts = [];
  for (let s = 0; s < x.dims[0]!; s += 256) parts.push(await runOnnx(head, sliceRows(feeds, s, Math.min(256, x.dims[0]! - s)), split.cutTensors.map((t) => t.name)));
  return concatRows(parts);
}

const command: Command = {
  name: 'split',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('split', argv, {
      private: { type: 'string' }, at: { type: 'string' }, out: { type: 'string', short: 'o' }, 'key-out': { type: 'string' },
      head: { type: 'string' }, tail: { type: 'string' }, 'allow-shared-weights': { type: 'boolean' },
      'model-id': { type: 'string' }, 'license-server': { type: 'string' }, 'no-verify': { type: 'boolean' },
      'output-policy': { type: 'string' }, watermark: { type: 'string' }, 'watermark-data': { type: 'string' }, ...MEASUREMENT_OPTIONS,
    });
    const path = required('split', 'the model file', positionals[0]);
    if ((values.private === undefined) === (values.at === undefined)) throw new EnclaveNnError('USAGE', "Cannot run 'split': give exactly one of --private N or --at LAYER");
    if (!values.out && !(values.head && values.tail)) throw new EnclaveNnError('USAGE', "Cannot run 'split': give -o model.enn, or both --head and --tail");
    const policy = { platforms: [policyEntry('split', readMeasurements('split', values))] };
    const { parseOutputPolicy, policyOutputSpecs } = await import('../../bundle/output-policy.ts');
    const outputPolicy = parseOutputPolicy(values['output-policy'] ?? 'probabilities');
    if (outputPolicy.kind !== 'probabilities' && !values.out) throw new EnclaveNnError('USAGE', "Cannot run 'split': --output-policy needs -o model.enn (plain --head/--tail halves cannot enforce it)");
    if ((values.watermark === undefined) !== (values['watermark-data'] === undefined)) throw new EnclaveNnError('USAGE', "Cannot run 'split': --watermark RATE and --watermark-data X.npy go together");
    if (values.watermark !== undefined && !values.out) throw new EnclaveNnError('USAGE', "Cannot run 'split': --watermark needs -o model.enn (plain --head/--tail halves cannot enforce it)");
    const { parseWatermarkRate, watermarkRefusal } = await import('../../bundle/watermark.ts');
    const rate = values.watermark === undefined ? undefined : parseWatermarkRate(values.watermark);
    const model = await loadModel(path);
    const split = await splitModel(model, {
      privateLayers: values.private === undefined ? undefined : intOption('split', '--private', values.private, 0),
      at: values.at, allowSharedWeights: values['allow-shared-weights'],
    });
    policyOutputSpecs(outputPolicy, split.tailOutputs); // refuses a policy the outputs cannot take, before anything is written
    if (outputPolicy.kind === 'reverse-sigmoid') await checkProbabilities(path, model, split);
    let watermark: { rate: number; calibration: Record<string, import('../../onnx/ort.ts').TensorData> } | undefined;
    if (rate !== undefined) {
      const why = watermarkRefusal(split.cutTensors, split.tailOutputs);
      if (why) throw new EnclaveNnError('WATERMARK', `Cannot watermark ${path}: ${why}`);
      watermark = { rate, calibration: await calibrationCut(values['watermark-data']!, split) };
    }
    const cutText = split.cutTensors.map((t) => `${t.name} ${t.dtype}${formatShape(t.shape)}`).join(', ');
    const files: PendingFile[] = [];
    if (values.out) {
      const keyOut = values['key-out'] ?? `${values.out}.key`;
      if (existsSync(keyOut)) throw new EnclaveNnError('FILE_EXISTS', `Cannot write provider key ${keyOut}: it exists (a key file is never overwritten; remove it or pass --key-out)`);
      const { bundleOfSplit, encodeProviderKeyFile } = await import('../../bundle/index.ts');
      const { bytes, providerKey } = bundleOfSplit(split, { modelId: values['model-id'], licenseServer: values['license-server'], policy, outputPolicy, watermark });
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
