import { writeFileAtomic } from '../../bundle/file.ts';
import { EnclaveNnError } from '../../errors.ts';
import { parseCommandArgs, required } from '../args.ts';
import type { Command } from '../command.ts';

const usage = `usage: enclave-nn license request <model.enn> --license ID -o request.json [--platform P] [--engine E]
       enclave-nn license checkin <model.enn> --server URL --license ID [--license-state FILE]
       enclave-nn license measurement

The customer's side of licensing (docs/license-protocol.md).

  request   air-gapped: an enclave attests over a fresh nonce and seals its pending key; send
            request.json to the provider (enclave-nn admin licenses fulfill), then run with
            enclave-nn run model.enn --license-file license.json
  checkin   report usage to the license server and take a top-up, from the sealed license
            state (default <model.enn>.<license id>.license, as run writes it), without running inference
  measurement  the sim-platform measurement (MRENCLAVE) of the trusted program built here,
            for the provider's model policy (admin models add --mrenclave)`;

const command: Command = {
  name: 'license',
  summary: 'Customer licensing: air-gapped license requests, check-in (usage report → top-up)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('license', argv, {
      license: { type: 'string' }, output: { type: 'string', short: 'o' }, platform: { type: 'string' }, engine: { type: 'string' },
      server: { type: 'string' }, 'license-state': { type: 'string' },
    });
    const [sub, bundlePath] = positionals;
    const { readBundleFile } = await import('../../bundle/file.ts');
    if (sub === 'request') {
      const bundle = await readBundleFile(required('license request', 'the bundle file', bundlePath));
      const out = required('license request', '-o request.json', values.output);
      const { createLicenseRequest } = await import('../../license/air-gap.ts');
      const req = await createLicenseRequest(bundle, required('license request', '--license', values.license), { platform: values.platform, engine: values.engine });
      await writeFileAtomic(out, new TextEncoder().encode(JSON.stringify(req, null, 2) + '\n'), 0o644);
      io.stdout(`wrote ${out}: license request for ${req.licenseId} (model ${req.modelId}); send it to the provider\n`);
      return 0;
    }
    if (sub === 'checkin') {
      const path = required('license checkin', 'the bundle file', bundlePath);
      const bundle = await readBundleFile(path);
      const server = required('license checkin', '--server', values.server);
      const licenseId = required('license checkin', '--license', values.license);
      const stateFile = values['license-state'] ?? `${path}.${licenseId}.license`;
      const [{ Session }, { checkIn, licenseServerKeyProvider }] = await Promise.all([import('../../runtime/session.ts'), import('../../license/client.ts')]);
      const session = await Session.create({ bundle, keySource: licenseServerKeyProvider({ server, licenseId, stateFile }), platform: values.platform, engine: values.engine });
      try {
        const r = await checkIn(session.enclaveProcess!, server, { stateFile });
        const st = (await session.status()).license as { used: number; allowance: number } | null;
        io.stdout(`checked in: ${r.granted} credits granted; ${st ? `${st.allowance - st.used} credits left (${st.used} of ${st.allowance} used)` : ''}\n`);
      } finally {
        await session.close();
      }
      return 0;
    }
    if (sub === 'measurement') {
      const { localSimMeasurement } = await import('../../enclave/trusted-program.ts');
      io.stdout(`${await localSimMeasurement()}\n`);
      return 0;
    }
    throw new EnclaveNnError('USAGE', `Cannot run 'license': unknown subcommand '${sub ?? ''}' (request, checkin, measurement)`);
  },
};

export default command;
