import { join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { INTEL_SGX_ROOT_CA } from '../../attest/roots.ts';
import { collateralDir } from '../../license/collateral-dir.ts';
import { openStore } from '../../license/open-store.ts';
import { loadAdminToken, loadMasterKey } from '../../license/secrets.ts';
import { LicenseServer } from '../../license/server.ts';
import { LicenseService } from '../../license/service.ts';
import { insecureSimTrust } from '../../license/sim-trust.ts';
import { intOption, parseCommandArgs } from '../args.ts';
import { untilStopped, type Command } from '../command.ts';

const usage = `usage: enclave-nn license-server [--data DIR] [--db URL] [--port P] [--host H] [--collateral DIR]
                                 [--request-timeout MS] [--insecure-trust-sim]

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
  --collateral DIR      Intel DCAP collateral the provider refreshes from PCS (root-ca.crl,
                        pck-processor-ca.crl / pck-platform-ca.crl, tcb-signing-chain.pem,
                        qe-identity.json, tcb-info-<fmspc>.json; docs/license-protocol.md §4.5.1),
                        read at every provisioning: TCB status and revocation are checked, an
                        expired file refuses. Without it, quotes under the Intel root are refused
  --request-timeout MS  a request (headers and body) must arrive within MS. Default 10000
  --insecure-trust-sim  INSECURE, development only: serve sim models (registered from a bundle
                        whose policy names the sim platform) to sim enclaves — this
                        installation's simulated SGX root, DEBUG enclaves accepted. Any local
                        process can forge sim quotes: they protect nothing.

Attestation roots: the Intel SGX Root CA (pinned by fingerprint) for every other model. Prints
"listening on URL" on stdout once it answers requests. Sim quotes have no Intel collateral:
their TCB is not evaluated.`;

const command: Command = {
  name: 'license-server',
  usage,
  async run(argv, io) {
    const { values } = parseCommandArgs('license-server', argv, {
      data: { type: 'string' }, db: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' },
      'insecure-trust-sim': { type: 'boolean' }, collateral: { type: 'string' }, 'request-timeout': { type: 'string' },
    });
    const data = resolve(values.data ?? 'license-data');
    mkdirSync(data, { recursive: true, mode: 0o700 });
    const port = intOption('license-server', '--port', values.port, 7070, 0);
    const requestTimeoutMs = intOption('license-server', '--request-timeout', values['request-timeout'], 10_000);
    const collateral = values.collateral ? collateralDir(resolve(values.collateral)) : undefined;
    const t0 = performance.now();
    const insecureSimRoot = values['insecure-trust-sim'] ? insecureSimTrust('license-server', io.stderr) : undefined;
    // The secrets first: `admin` finds the token file while the database still opens.
    const masterKey = loadMasterKey(data, io.env);
    const admin = loadAdminToken(data, io.env);
    const t1 = performance.now();
    const { store, label } = await openStore(values.db ?? join(data, 'db'));
    const t2 = performance.now();
    const roots = [INTEL_SGX_ROOT_CA];
    const server = new LicenseServer(new LicenseService({ store, masterKey, roots, ...(insecureSimRoot ? { insecureSimRoot } : {}), ...(collateral ? { collateral } : {}) }), admin.token);
    const { url } = await server.listen(port, values.host ?? '127.0.0.1', { requestTimeoutMs, headersTimeoutMs: Math.min(5_000, requestTimeoutMs) });
    // Printed only now: the socket is bound and the store is open, so requests get answers.
    io.stdout(`license-server: listening on ${url}\n`);
    const ms = (a: number, b: number): string => `${Math.round(b - a)} ms`;
    io.stderr(`license-server: store ${label}; admin token in ${admin.source}; roots ${[...roots, ...(insecureSimRoot ? [insecureSimRoot] : [])].map((r) => r.name).join(', ')}; collateral ${collateral ? collateral.label : 'none (quotes under the Intel root are refused)'}; ready ${ms(0, performance.now())} after the process started (modules ${ms(0, t0)}, secrets ${ms(t0, t1)}, store ${ms(t1, t2)})\n`);
    await untilStopped(io);
    await server.close();
    await store.close();
    io.stderr('license-server: stopped\n');
    return 0;
  },
};

export default command;
