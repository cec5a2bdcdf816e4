import { join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { INTEL_SGX_ROOT_CA } from '../../attest/roots.ts';
import { openStore } from '../../license/open-store.ts';
import { loadAdminToken, loadMasterKey } from '../../license/secrets.ts';
import { LicenseServer } from '../../license/server.ts';
import { LicenseService } from '../../license/service.ts';
import { insecureSimTrust } from '../../license/sim-trust.ts';
import { intOption, parseCommandArgs } from '../args.ts';
import type { Command } from '../command.ts';

const usage = `usage: enclave-nn license-server [--data DIR] [--db URL] [--port P] [--host H] [--insecure-trust-sim]

Serves the license protocol (docs/license-protocol.md): challenge, provision, usage/top-up, and
the provider's admin API behind a bearer token. Runs until SIGINT/SIGTERM.

  --data DIR            server state: master.key and admin.token (mode 0600, created on first
                        start unless ENCLAVE_NN_MASTER_KEY / ENCLAVE_NN_ADMIN_TOKEN are set) and
                        the embedded database (DIR/db). Default ./license-data; \`admin\` finds
                        the token there (admin --data DIR)
  --db URL              postgres://user@host:port/db instead of the embedded database (several
                        server processes may share one; give them the same master key and token)
  --port P              TCP port (0 = any free port; the URL is printed). Default 7070
  --host H              address to listen on. Default 127.0.0.1
  --insecure-trust-sim  INSECURE, development only: serve sim models (registered from a bundle
                        whose policy names the sim platform) to sim enclaves — this
                        installation's simulated SGX root, DEBUG enclaves accepted. Any local
                        process can forge sim quotes: they protect nothing.

Attestation roots: the Intel SGX Root CA (pinned by fingerprint) for every other model. Prints
"listening on URL" on stdout once it answers requests.`;

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
    const t0 = performance.now();
    const insecureSimRoot = values['insecure-trust-sim'] ? insecureSimTrust('license-server', io.stderr) : undefined;
    // The secrets first: `admin` finds the token file while the database still opens.
    const masterKey = loadMasterKey(data);
    const admin = loadAdminToken(data);
    const t1 = performance.now();
    const { store, label } = await openStore(values.db ?? join(data, 'db'));
    const t2 = performance.now();
    const roots = [INTEL_SGX_ROOT_CA];
    const server = new LicenseServer(new LicenseService({ store, masterKey, roots, ...(insecureSimRoot ? { insecureSimRoot } : {}) }), admin.token);
    const { url } = await server.listen(port, values.host ?? '127.0.0.1');
    // Printed only now: the socket is bound and the store is open, so requests get answers.
    io.stdout(`license-server: listening on ${url}\n`);
    const ms = (a: number, b: number): string => `${Math.round(b - a)} ms`;
    io.stderr(`license-server: store ${label}; admin token in ${admin.source}; roots ${[...roots, ...(insecureSimRoot ? [insecureSimRoot] : [])].map((r) => r.name).join(', ')}; ready ${ms(0, performance.now())} after the process started (modules ${ms(0, t0)}, secrets ${ms(t0, t1)}, store ${ms(t1, t2)})\n`);
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
