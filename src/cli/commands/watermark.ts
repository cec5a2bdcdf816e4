import { existsSync, readFileSync } from 'node:fs';
import { EnclaveNnError } from '../../errors.ts';
import { parseCommandArgs, required } from '../args.ts';
import type { Command } from '../command.ts';

const usage = `usage: enclave-nn watermark verify <suspect.onnx> --key model.enn.key --data X.npy [--bundle model.enn] [--alpha A] [--json]

Tests whether a suspect model learned a bundle's answer watermark (docs/watermark.md). Runs the
bundle's own model (head + tail, opened with the provider key) and the suspect on the
provider's data X.npy (rows for the model's input), selects the rows the enclave marks, and
counts how often the suspect answers their keyed labels: one-sided binomial test against
chance = max(1/classes, the suspect's rate of those labels on the unmarked rows).
The suspect takes the model's input or the bundle's cut tensors and answers [N, C] scores or
[N] labels. --bundle defaults to the key's path without '.key'. --alpha: the significance of a
match (default 1e-6). Prints the verdict and the p-value (--json: one object).
Exit codes: 0 match, 3 no match, 2 bad usage or input, 1 internal failure.`;

const command: Command = {
  name: 'watermark',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('watermark', argv, {
      key: { type: 'string' }, data: { type: 'string' }, bundle: { type: 'string' }, alpha: { type: 'string' }, json: { type: 'boolean' },
    });
    if (positionals[0] !== 'verify') throw new EnclaveNnError('USAGE', `Cannot run 'watermark': unknown subcommand '${String(positionals[0] ?? '').slice(0, 40)}'; known: verify`);
    const suspectPath = required('watermark verify', 'the suspect model', positionals[1]);
    const keyPath = required('watermark verify', '--key', values.key);
    const dataPath = required('watermark verify', '--data', values.data);
    const bundlePath = values.bundle ?? (keyPath.endsWith('.key') ? keyPath.slice(0, -4) : undefined);
    if (!bundlePath) throw new EnclaveNnError('USAGE', `Cannot run 'watermark verify': give --bundle (the key ${keyPath} does not end in .key)`);
    const alpha = values.alpha === undefined ? undefined : Number(values.alpha);
    if (alpha !== undefined && !(alpha > 0 && alpha < 1)) throw new EnclaveNnError('USAGE', `Cannot run 'watermark verify': --alpha must be a number in (0, 1), got '${values.alpha}'`);
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
      v = await verifyWatermark({ bundle, providerKey, suspect: readFileSync(suspectPath), data, alpha });
    } finally {
      zeroize(providerKey.modelKey, providerKey.signingKey);
    }
    if (values.json) io.stdout(`${JSON.stringify({ suspect: suspectPath, ...v })}\n`);
    else {
      io.stdout(`${v.verdict}: ${suspectPath} answers the keyed label on ${v.agreeing} of ${v.marked} marked rows (of ${v.rows}); `
        + `chance ${v.chance.toPrecision(3)} (max of 1/${v.classes} and its rate ${v.controlAgreeing}/${v.rows - v.marked} on unmarked rows); `
        + `p-value ${v.pValue.toExponential(2)} (one-sided binomial), alpha ${v.alpha}\n`);
      if (v.marked === 0) io.stderr('enclave-nn: no row of the data falls in the watermarked region: the data cannot show a match\n');
    }
    return v.verdict === 'match' ? 0 : 3;
  },
};
export default command;
