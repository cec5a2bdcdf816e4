import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { INTEL_SGX_ROOT_CA, loadOrCreateInsecureSimChain, type PinnedRoot } from '../../attest/index.ts';
import { readBundleFile, writeFileAtomic } from '../../bundle/index.ts';
import { decodeProviderKeyFile } from '../../bundle/provider-key.ts';
import { EnclaveNnError } from '../../errors.ts';
import { LicenseClient } from '../../license/client.ts';
import { openStore } from '../../license/open-store.ts';
import { loadMasterKey } from '../../license/secrets.ts';
import { LicenseService, type LicenseRequest } from '../../license/service.ts';
import { parseCommandArgs, required } from '../args.ts';
import { MEASUREMENT_OPTIONS, readMeasurements } from '../measurement-options.ts';
import type { Command, CommandIO } from '../command.ts';

const usage = `usage: enclave-nn admin <subcommand> [--server URL] [--token T] [--json]

The provider's side of the license server (docs/license-protocol.md §8.2), over HTTP with the
admin bearer token (--token, or $ENCLAVE_NN_ADMIN_TOKEN, or --token-file FILE).

  models add <provider.key> (--mrenclave HEX… | --mrsigner HEX… | --bundle model.enn | --local-sim-measurement
             | --insecure-any-measurement) [--platform sim|gramine-sgx] [--allow-debug] [--min-svn N]
                                                       register a model; its keys are stored encrypted.
             --local-sim-measurement accepts the sim measurement of the trusted program built here
  models list
  customers add <id> [--name NAME]
  licenses grant --customer C --model M --credits N [--id ID] [--days D]
             [--offline-inferences N] [--offline-seconds S]
  licenses revoke <id> [--reason TEXT]
  licenses credit <id> --credits N                     add purchased credits
  licenses list [--customer C] [--model M]
  licenses fulfill <request.json> -o <license.json>    air-gapped: over --server, or offline on the
             server's --data DIR [--db URL] [--insecure-trust-sim]
  usage [--customer C] [--model M]                     credits bought, granted, used
  audit [--subject S] [--refused] [--limit N]          the decision log

--server defaults to $ENCLAVE_NN_LICENSE_SERVER or http://127.0.0.1:7070.`;

const HEX32 = /^[0-9a-f]{64}$/;

function show(io: CommandIO, json: boolean, value: unknown, lines: () => string[]): void {
  io.stdout(json ? JSON.stringify(value, null, 2) + '\n' : lines().join('\n') + '\n');
}

const date = (s: number): string => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

const command: Command = {
  name: 'admin',
  summary: 'Manage the license server: models, customers, licenses, usage, audit, air-gapped fulfilment',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('admin', argv, {
      server: { type: 'string' }, token: { type: 'string' }, 'token-file': { type: 'string' }, json: { type: 'boolean' },
      ...MEASUREMENT_OPTIONS, bundle: { type: 'string' },
      'insecure-any-measurement': { type: 'boolean' }, 'local-sim-measurement': { type: 'boolean' }, 'allow-debug': { type: 'boolean' }, 'min-isvsvn': { type: 'string' },
      name: { type: 'string' }, customer: { type: 'string' }, model: { type: 'string' }, credits: { type: 'string' }, id: { type: 'string' },
      days: { type: 'string' }, 'offline-inferences': { type: 'string' }, 'offline-seconds': { type: 'string' }, reason: { type: 'string' },
      output: { type: 'string', short: 'o' }, data: { type: 'string' }, db: { type: 'string' }, 'insecure-trust-sim': { type: 'boolean' },
      subject: { type: 'string' }, refused: { type: 'boolean' }, limit: { type: 'string' },
    });
    const [group, action, arg] = positionals;
    const json = values.json === true;
    const int = (flag: string, v: string | undefined): number | undefined => {
      if (v === undefined) return undefined;
      if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new EnclaveNnError('USAGE', `Cannot run 'admin': ${flag} must be a non-negative integer, got '${v}'`);
      return Number(v);
    };
    const client = (): LicenseClient => {
      const token = values.token ?? (values['token-file'] ? readFileSync(values['token-file'], 'utf8').trim() : process.env.ENCLAVE_NN_ADMIN_TOKEN);
      if (!token) throw new EnclaveNnError('USAGE', "Cannot run 'admin': no admin token (--token, --token-file or $ENCLAVE_NN_ADMIN_TOKEN)");
      return new LicenseClient(values.server ?? process.env.ENCLAVE_NN_LICENSE_SERVER ?? 'http://127.0.0.1:7070', token);
    };
    const filter = `${values.customer ? `customer=${encodeURIComponent(values.customer)}&` : ''}${values.model ? `model=${encodeURIComponent(values.model)}` : ''}`;
    const licenseLine = (l: Record<string, unknown>): string =>
      `${l.licenseId as string}  ${l.customerId as string}  ${l.modelId as string}  credits ${l.creditsGranted as number}/${l.creditsTotal as number} granted  ${date(l.notBefore as number)}..${date(l.notAfter as number)}${l.revoked ? `  REVOKED (${l.revokedReason as string})` : ''}`;

    switch (`${group ?? ''} ${action ?? ''}`) {
      case 'models add': {
        const keyPath = required('admin models add', 'the provider key file', arg);
        const key = decodeProviderKeyFile(new Uint8Array(readFileSync(keyPath)), keyPath);
        // The same measurement words as `split` (measurement-options.ts).
        const words = readMeasurements('admin models add', values);
        let mrEnclave = words.mrEnclave;
        let mrSigner = words.mrSigner;
        let minSvn = words.minSvn ?? int('--min-isvsvn', values['min-isvsvn']);
        if (values.bundle) {
          const b = await readBundleFile(values.bundle);
          if (b.header.modelId !== key.modelId) throw new EnclaveNnError('USAGE', `Cannot register model: ${values.bundle} is model ${b.header.modelId}, the key file is for ${key.modelId}`);
          mrEnclave = [...new Set([...mrEnclave, ...b.header.policy.platforms.flatMap((p) => p.measurements.filter((m) => HEX32.test(m)))])];
          mrSigner = [...new Set([...mrSigner, ...b.header.policy.platforms.flatMap((p) => p.mrSigners ?? [])])];
          minSvn ??= Math.max(0, ...b.header.policy.platforms.map((p) => p.minIsvSvn ?? 0));
        }
        if (values['local-sim-measurement']) {
          const { localSimMeasurement } = await import('../../enclave/trusted-program.ts');
          mrEnclave = [...new Set([...mrEnclave, await localSimMeasurement()])];
        }
        if (mrEnclave.length === 0 && mrSigner.length === 0) {
          if (!values['insecure-any-measurement']) throw new EnclaveNnError('USAGE', "Cannot register model: no accepted measurement (--mrenclave, --mrsigner or --bundle); --insecure-any-measurement gives the key to ANY enclave");
          io.stderr('enclave-nn: INSECURE: this model\'s key will be released to an enclave of any measurement\n');
        }
        // sim quotes always carry the DEBUG attribute: naming the sim platform accepts them.
        const policy = { mrEnclave, mrSigner, allowDebug: values['allow-debug'] === true || values.platform === 'sim', minIsvSvn: minSvn ?? 0 };
        if (policy.allowDebug) io.stderr('enclave-nn: INSECURE: DEBUG enclaves (readable memory) will receive this model\'s key\n');
        const body = { providerKey: JSON.parse(readFileSync(keyPath, 'utf8')) as unknown, policy };
        const r = await client().request('POST', '/v1/admin/models', body);
        show(io, json, r, () => [`registered model ${key.modelId}`]);
        return 0;
      }
      case 'models list': {
        const r = await client().request<{ models: { id: string; policy: { mrEnclave: string[]; allowDebug: boolean } }[] }>('GET', '/v1/admin/models');
        show(io, json, r, () => r.models.map((m) => `${m.id}  ${m.policy.mrEnclave.length ? m.policy.mrEnclave.map((h) => h.slice(0, 16)).join(',') : 'any measurement'}${m.policy.allowDebug ? '  debug allowed' : ''}`));
        return 0;
      }
      case 'customers add': {
        const id = required('admin customers add', 'a customer id', arg);
        const r = await client().request('POST', '/v1/admin/customers', { id, name: values.name ?? id });
        show(io, json, r, () => [`added customer ${id}`]);
        return 0;
      }
      case 'licenses grant': {
        const credits = int('--credits', required('admin licenses grant', '--credits', values.credits))!;
        const days = int('--days', values.days);
        const now = Math.floor(Date.now() / 1000);
        const maxInferences = int('--offline-inferences', values['offline-inferences']);
        const maxSeconds = int('--offline-seconds', values['offline-seconds']);
        const r = await client().request('POST', '/v1/admin/licenses', {
          customerId: required('admin licenses grant', '--customer', values.customer), modelId: required('admin licenses grant', '--model', values.model), credits,
          ...(values.id ? { licenseId: values.id } : {}), ...(days !== undefined ? { notBefore: now, notAfter: now + days * 86400 } : {}),
          offline: { ...(maxInferences !== undefined ? { maxInferences } : {}), ...(maxSeconds !== undefined ? { maxSeconds } : {}) },
        });
        show(io, json, r, () => [licenseLine(r)]);
        return 0;
      }
      case 'licenses revoke': {
        const r = await client().request('POST', `/v1/admin/licenses/${encodeURIComponent(required('admin licenses revoke', 'a license id', arg))}/revoke`, { reason: values.reason });
        show(io, json, r, () => [licenseLine(r)]);
        return 0;
      }
      case 'licenses credit': {
        const credits = int('--credits', required('admin licenses credit', '--credits', values.credits));
        const r = await client().request('POST', `/v1/admin/licenses/${encodeURIComponent(required('admin licenses credit', 'a license id', arg))}/credits`, { credits });
        show(io, json, r, () => [licenseLine(r)]);
        return 0;
      }
      case 'licenses list': {
        const r = await client().request<{ licenses: Record<string, unknown>[] }>('GET', `/v1/admin/licenses?${filter}`);
        show(io, json, r, () => r.licenses.length ? r.licenses.map(licenseLine) : ['no licenses']);
        return 0;
      }
      case 'licenses fulfill': {
        const reqPath = required('admin licenses fulfill', 'the request file', arg);
        const out = required('admin licenses fulfill', '-o license.json', values.output);
        let request: LicenseRequest;
        try {
          request = JSON.parse(readFileSync(reqPath, 'utf8')) as LicenseRequest;
        } catch (e) {
          throw new EnclaveNnError('USAGE', `Cannot read license request ${reqPath}: ${(e as Error).message.split('\n')[0]}`);
        }
        let response: Record<string, unknown>;
        if (values.data || values.db) {
          // Offline, on the server's own data directory (the provider's air-gapped workstation).
          const data = resolve(values.data ?? 'license-data');
          const roots: PinnedRoot[] = [INTEL_SGX_ROOT_CA];
          if (values['insecure-trust-sim']) {
            const chain = loadOrCreateInsecureSimChain();
            roots.push(chain.root);
            io.stderr(`enclave-nn: INSECURE: trusting the simulated SGX root ${chain.root.sha256}: sim quotes protect nothing\n`);
          }
          const { store } = await openStore(values.db ?? join(data, 'db'));
          try {
            response = await new LicenseService({ store, masterKey: loadMasterKey(data), roots }).fulfill(request) as unknown as Record<string, unknown>;
          } finally {
            await store.close();
          }
        } else {
          response = await client().request('POST', '/v1/admin/fulfill', { request });
        }
        // The enclave's sealed pending key travels back with the answer (opaque ciphertext).
        const full = { ...response, ...(typeof (request as unknown as Record<string, unknown>).pending === 'string' ? { pending: (request as unknown as Record<string, unknown>).pending } : {}) };
        await writeFileAtomic(out, new TextEncoder().encode(JSON.stringify(full, null, 2) + '\n'), 0o644);
        show(io, json, full, () => [`wrote ${out}: license ${response.licenseId as string}, ${response.allowance as number} credits for enclave ${(response.enclaveId as string).slice(0, 16)}…`]);
        return 0;
      }
      case 'usage ': case 'usage undefined': {
        const r = await client().request<{ usage: { customerId: string; modelId: string; licenses: number; creditsTotal: number; creditsGranted: number; used: number; enclaves: number }[] }>('GET', `/v1/admin/usage?${filter}`);
        show(io, json, r, () => r.usage.length ? r.usage.map((u) => `${u.customerId}  ${u.modelId}  licenses ${u.licenses}  credits ${u.creditsTotal}  granted ${u.creditsGranted}  used ${u.used}  enclaves ${u.enclaves}`) : ['no usage']);
        return 0;
      }
      case 'audit ': case 'audit undefined': {
        const q = `limit=${int('--limit', values.limit) ?? 100}${values.subject ? `&subject=${encodeURIComponent(values.subject)}` : ''}${values.refused ? '&outcome=refused' : ''}`;
        const r = await client().request<{ audit: { at: number; actor: string; action: string; subject: string; outcome: string; code: string; reason: string }[] }>('GET', `/v1/admin/audit?${q}`);
        show(io, json, r, () => r.audit.map((a) => `${date(a.at)}  ${a.outcome.padEnd(7)}  ${a.action.padEnd(16)}  ${a.subject}  ${a.code}: ${a.reason}`));
        return 0;
      }
      default:
        throw new EnclaveNnError('USAGE', `Cannot run 'admin': unknown subcommand '${positionals.join(' ')}'`);
    }
  },
};

export default command;
