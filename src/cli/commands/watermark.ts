import { existsSync, readFileSync } from 'node:fs';
import { EnclaveNnError } from '../../errors.ts';
import { intOption, parseCommandArgs, required } from '../args.ts';
import type { Command } from '../command.ts';

const usage = `usage: enclave-nn watermark verify <suspect.onnx> --key model.enn.key --data X.npy [--bundle model.enn]
                              [--alpha A] [--null-keys M] [--json]

Tests whether a suspect model learned a bundle's answer watermark (docs/watermark.md). Runs the
bundle's own model (head + tail, opened with the provider key) and the suspect on the
provider's data X.npy (rows for the model's input; at least 10 / rate of them), takes the
rate × rows rows the bundle's watermark key scores highest, and counts those where the suspect
answers the keyed label. The same count under M random keys (own direction, own label mapping,
derived from the provider key) is the null: p = (1 + #{random keys counting at least as many})
/ (M + 1), a valid p-value for any model that never saw the marked answers. Match iff p ≤ A.
The suspect takes the model's input or the bundle's cut tensors and answers [N, C] scores or
[N] labels. --bundle defaults to the key's path without '.key'. --alpha: the significance of a
match (default 0.001; at least 1/(M+1)). --null-keys: M (default 999, at least 200).
Prints the verdict and the p-value (--json: one object).
Exit codes: 0 match, 3 no match, 2 bad usage or input, 1 internal failure.`;

const command: Command = {
  name: 'watermark',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('watermark', argv, {
      key: { type: 'string' }, data: { type: 'string' }, bundle: { type: 'string' }, alpha: { type: 'string' }, 'null-keys': { type: 'string' }, json: { type: 'boolean' },
    });
    if (positionals[0] !== 'verify') throw new EnclaveNnError('USAGE', `Cannot run 'watermark': unknown subcommand '${String(positionals[0] ?? '').slice(0, 40)}'; known: verify`);
    const suspectPath = required('watermark verify', 'the suspect model', positionals[1]);
    const keyPath = required('watermark verify', '--key', values.key);
    const dataPath = required('watermark verify', '--data', values.data);
    const bundlePath = values.bundle ?? (keyPath.endsWith('.key') ? keyPath.slice(0, -4) : undefined);
    if (!bundlePath) throw new EnclaveNnError('USAGE', `Cannot run 'watermark verify': give --bundle (the key ${keyPath} does not end in .key)`);
    const alpha = values.alpha === undefined ? undefined : Number(values.alpha);
    if (alpha !== undefined && !(alpha > 0 && alpha < 1)) throw new EnclaveNnError('USAGE', `Cannot run 'watermark verify': --alpha must be a number in (0, 1), got '${values.alpha}'`);
    const { DEFAULT_NULL_KEYS, MIN_NULL_KEYS } = await import('../../watermark/index.ts');
    const nullKeys = intOption('watermark verify', '--null-keys', values['null-keys'], DEFAULT_NULL_KEYS, MIN_NULL_KEYS);
    if (alpha !== undefined && alpha < 1 / (nullKeys + 1)) throw new EnclaveNnError('USAGE', `Cannot run 'watermark verify': --alpha ${values.alpha} is below 1/(M+1) with --null-keys ${nullKeys}, so nothing could match; raise --null-keys`);
    for (const [what, p] of [['suspect model', suspectPath], ['data', dataPath], ['bundle', bundlePath]] as const) {
      if (!existsSync(p)) throw new EnclaveNnError('WATERMARK', `Cannot verify the watermark: the ${what} ${p} does not exist`);
    }
    const { readBundleFile, readProviderKeyFile } = await import('../../bundle/index.ts');
    const { readNpy } = await import('../../runtime/npy.ts');
    const { verifyWatermark } = await import('../../watermark/index.ts');
    const { zeroize } = await import('../../crypto/index.ts');
    let data;
    try {
      data = readNpy(readFileSync(dataPath));
    } catch (cause) {
      throw new EnclaveNnError('WATERMARK', `Cannot read --data ${dataPath}: ${(cause as Error).message}`, { cause });
    }
    const bundle = await readBundleFile(bundlePath);
    const providerKey = await readProviderKeyFile(keyPath);
    let v;
    try {
      if (providerKey.modelId !== bundle.header.modelId) throw new EnclaveNnError('WATERMARK', `Cannot verify the watermark: the key ${keyPath} is for model '${providerKey.modelId}', the bundle ${bundlePath} is '${bundle.header.modelId}'`);
      v = await verifyWatermark({ bundle, providerKey, suspect: readFileSync(suspectPath), data, alpha, nullKeys });
    } finally {
      zeroize(providerKey.modelKey, providerKey.signingKey);
    }
    if (values.json) io.stdout(`${JSON.stringify({ suspect: suspectPath, ...v })}\n`);
    else {
      io.stdout(`${v.verdict}: ${suspectPath} answers the keyed label on ${v.agreeing} of the ${v.judged} rows the key selects (of ${v.rows}; ${v.marked} marked); `
        + `${v.nullKeys} random keys: mean ${v.nullMean.toFixed(1)}, max ${v.nullMax}, ${v.nullAtLeast} at least as many; `
        + `p-value ${v.pValue.toPrecision(3)} (empirical), alpha ${v.alpha}\n`);
    }
    return v.verdict === 'match' ? 0 : 3;
  },
};
export default command;
