import { EnclaveNnError } from '../../errors.ts';
import { formatShape, type TensorSpec } from '../../onnx/tensor-spec.ts';
import { openSealedTail, readProviderKeyFile, readBundleFile, writeFileAtomic } from '../../bundle/index.ts';
import { zeroize } from '../../crypto/index.ts';
import { parseCommandArgs, required } from '../args.ts';
import type { Command } from '../command.ts';

const usage = `usage: enclave-nn bundle info <model.enn> [--json]
       enclave-nn bundle extract-head <model.enn> -o head.onnx
       enclave-nn bundle verify <model.enn> --key <provider.key>

info          verifies the bundle (magic, version, header signature, head hash, sizes) and
              prints its public header; --json prints it as JSON.
extract-head  verifies the bundle and writes its public head ONNX (atomically).
verify        also opens the sealed tail with the provider key file, to check it end to end
              (prints nothing secret).`;

const specs = (list: TensorSpec[]) => list.map((t) => `${t.name} ${t.dtype}${formatShape(t.shape)}`).join(', ');
const size = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

const command: Command = {
  name: 'bundle',
  summary: 'Show a sealed .enn bundle\'s public header, extract its head, or verify it with a key',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('bundle', argv, {
      json: { type: 'boolean' }, out: { type: 'string', short: 'o' }, key: { type: 'string' },
    });
    const sub = required('bundle', 'a subcommand (info, extract-head or verify)', positionals[0]);
    const path = required('bundle', 'the bundle file', positionals[1]);
    if (positionals.length > 2) throw new EnclaveNnError('USAGE', `Cannot run 'bundle ${sub}': unexpected argument '${positionals[2]}'`);
    if (!['info', 'extract-head', 'verify'].includes(sub)) {
      throw new EnclaveNnError('USAGE', `Cannot run 'bundle': unknown subcommand '${sub}'; known: info, extract-head, verify`);
    }
    const out = sub === 'extract-head' ? required('bundle extract-head', '-o head.onnx', values.out) : undefined;
    const keyPath = sub === 'verify' ? required('bundle verify', '--key provider.key', values.key) : undefined;
    const bundle = await readBundleFile(path);
    const h = bundle.header;

    if (sub === 'info') {
      if (values.json) {
        io.stdout(JSON.stringify({ file: path, headerSha256: Buffer.from(bundle.headerHash).toString('hex'), header: h }, null, 2) + '\n');
        return 0;
      }
      const policy = h.policy.platforms.map((p) => {
        const accepts = [
          ...(p.measurements.length ? [p.measurements.join(', ')] : []),
          ...(p.mrSigners ? [`signed by ${p.mrSigners.join(', ')}`] : []),
          ...(p.minIsvSvn !== undefined ? [`ISVSVN >= ${p.minIsvSvn}`] : []),
        ];
        return `${p.kind} (${p.measurements.length === 0 && !p.mrSigners ? 'any measurement — development only' : accepts.join('; ')})`;
      }).join('; ');
      io.stdout([
        `bundle ${path}: format ${h.formatVersion}, header signature verifies, head hash matches`,
        `model id        ${h.modelId}`,
        `provider key    ed25519:${h.providerKey}`,
        `head inputs     ${specs(h.headInputs)}`,
        `cut (tail in)   ${specs(h.inputs)}`,
        `outputs         ${specs(h.outputs)}`,
        `head            ${size(h.head.size)}, sha256 ${h.head.sha256}`,
        `sealed tail     ${size(h.tail.paddedSize)} bucket, ${h.tail.chunkCount} chunk(s) of ${size(h.tail.chunkSize)}, ${h.tail.aead}`,
        `enclave policy  ${policy}`,
        `license server  ${h.licenseServer ?? 'none'}`,
      ].join('\n') + '\n');
      return 0;
    }

    if (sub === 'extract-head') {
      if (bundle.head.byteLength === 0) throw new EnclaveNnError('BUNDLE_NO_HEAD', `Cannot extract head of ${path}: the bundle has no head (every layer is private)`);
      await writeFileAtomic(out!, bundle.head);
      io.stdout(`wrote ${out} (${size(bundle.head.byteLength)}, sha256 ${h.head.sha256})\n`);
      return 0;
    }

    const key = await readProviderKeyFile(keyPath!);
    try {
      const tail = openSealedTail(bundle, key.modelKey);
      const n = tail.byteLength;
      zeroize(tail);
      io.stdout(`bundle ${path}: sealed tail opens with ${keyPath} (${h.tail.chunkCount} chunk(s) authenticate, padding valid, ${n} bytes of tail in a ${size(h.tail.paddedSize)} bucket)\n`);
    } finally {
      zeroize(key.modelKey, key.signingKey);
    }
    return 0;
  },
};
export default command;
