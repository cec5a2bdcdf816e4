import { join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { INTEL_SGX_ROOT_CA, loadOrCreateInsecureSimChain, type PinnedRoot } from '../../attest/index.ts';
import { openStore } from '../../license/open-store.ts';
import { loadAdminToken, loadMasterKey } from '../../license/secrets.ts';
import { LicenseServer } from '../../license/server.ts';
import { LicenseService } from '../../license/service.ts';
import { intOption, parseCommandArgs } from '../args.ts';
import type { Command } from '../command.ts';

const usage = `usage: enclave-nn license-server [--data DIR] [--db URL] [--port P] [--host H] [--insecure-trust-sim]

Serves the license protocol (docs/license-protocol.md): challenge, provision, usage/top-up, and
the provider's admin API behind a bearer token. Runs until SIGINT/SIGTERM.

  --data DIR            server state: master.key and admin.token (mode 0600, created on first
                        start unless ENCLAVE_NN_MASTER_KEY / ENCLAVE_NN_ADMIN_TOKEN are set) and
                        the embedded database (DIR/db). Default ./license-data
  --db URL              postgres://user@host:port/db instead of the embedded database (several
                        server processes may share one; give them the same master key and token)
  --port P              TCP port (0 = any free port; the URL is printed). Default 7070
  --host H              address to listen on. Default 127.0.0.1
  --insecure-trust-sim  also trust this installation's INSECURE simulated SGX root (sim
                        platform): any local process can forge its quotes. Development only.

Attestation roots: the Intel SGX Root CA (pinned by fingerprint), plus the sim root only with
--insecure-trust-sim.`;

const command: Command = {
  name: 'license-server',
  summary: 'Serve licenses: attestation-gated key provisioning, metered top-ups, admin API',
  usage,
  async run(argv, io) {
    const { values } = parseCommandArgs('license-server', argv, {
      data: { type: 'string' }, db: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' },
      'insecure-trust-sim': { type: 'boolean' },
    });
    const data = resolve(values.data ?? 'license-data');
    mkdirSync(data, { recursive: true, mode: 0o700 });
    const port = intOption('license-server', '--port', values.port, 7070, 0);
    const roots: PinnedRoot[] = [INTEL_SGX_ROOT_CA];
    if (values['insecure-trust-sim']) {
      const chain = loadOrCreateInsecureSimChain();
      roots.push(chain.root);
      io.stderr(`enclave-nn: INSECURE: license-server trusts the simulated SGX root ${chain.root.sha256} (${chain.dir}): sim quotes protect nothing\n`);
    }
    const masterKey = loadMasterKey(data);
    const admin = loadAdminToken(data);
    const { store, label } = await openStore(values.db ?? join(data, 'db'));
    const server = new LicenseServer(new LicenseService({ store, masterKey, roots }), admin.token);
    const { url } = await server.listen(port, values.host ?? '127.0.0.1');
    io.stdout(`license-server: listening on ${url}\n`);
    io.stderr(`license-server: store ${label}; admin token in ${admin.source}; roots ${roots.map((r) => r.name).join(', ')}\n`);
    await new Promise<void>((done) => {
      const stop = (): void => { process.off('SIGINT', stop); process.off('SIGTERM', stop); done(); };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await server.close();
    await store.close();
    io.stderr('license-server: stopped\n');
    return 0;
  },
};

export default command;
