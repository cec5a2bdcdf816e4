import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { INTEL_SGX_ROOT_CA } from '../../attest/roots.ts';
import { readBundleFile, writeFileAtomic } from '../../bundle/index.ts';
import { decodeProviderKeyFile } from '../../bundle/provider-key.ts';
import { EnclaveNnError } from '../../errors.ts';
import { LicenseClient } from '../../license/client.ts';
import { openStore } from '../../license/open-store.ts';
import { loadMasterKey } from '../../license/secrets.ts';
import { ACCEPTABLE_TCB_STATUSES, isMonitorAction, LicenseService, MONITOR_ACTION_WORDS, type LicenseRequest } from '../../license/service.ts';
import { collateralDir } from '../../license/collateral-dir.ts';
import { insecureSimTrust } from '../../license/sim-trust.ts';
import type { ModelPolicy } from '../../license/store.ts';
import { parseCommandArgs, required } from '../args.ts';
import { MEASUREMENT_OPTIONS, readMeasurements } from '../measurement-options.ts';
import type { Command, CommandIO } from '../command.ts';

const usage = `usage: enclave-nn admin <subcommand> [--server URL] [--data DIR | --token T | --token-file FILE] [--json]

The provider's side of the license server (docs/license-protocol.md §8.2), over HTTP with the
admin bearer token: --token, --token-file FILE, $ENCLAVE_NN_ADMIN_TOKEN, or the server's data
directory (--data DIR, default ./license-data: DIR/admin.token). A server that is still
starting is waited for: 5 s, and while it opens its embedded database in DIR (at most 1 min).

  models add <provider.key> (--bundle model.enn | --mrenclave HEX… | --mrsigner HEX… | --local-sim-measurement
             | --insecure-any-measurement) [--platform sim|gramine-sgx] [--allow-debug] [--min-svn N]
             [--accept-tcb STATUS…] [--monitor report|throttle:N/h|stop]
                                                       register a model; its keys are stored encrypted.
             --bundle takes the measurements of the bundle's policy; a bundle whose policy names
             the sim platform only registers an INSECURE sim model (license-server --insecure-trust-sim).
             --local-sim-measurement accepts the sim measurement of the trusted program built here.
             --monitor: what an extraction alarm in a usage report does to its license (default
             report: an audit row; throttle:N/h: at most N credits an hour after it; stop: no more
             credits, challenges or provisioning — LICENSE_STOPPED)
  models update <model id> (the measurement options of add)   replace a model's policy
  models remove <model id>                             unregister a model no license names
  models list
  customers add <id> [--name NAME]
  customers list
  licenses grant --customer C --model M --credits N [--id ID] [--days D]
             [--offline-inferences N] [--offline-seconds S]
  licenses revoke <id> [--reason TEXT]
  licenses credit <id> --credits N                     add purchased credits
  licenses list [--customer C] [--model M]
  licenses fulfill <request.json> -o <license.json>    air-gapped: over --server, or offline on the
             server's --data DIR [--db URL] [--collateral DIR] [--insecure-trust-sim]
  usage [--customer C] [--model M]                     credits bought, granted, used
  audit [--subject S] [--refused] [--limit N]          the decision log

--server defaults to $ENCLAVE_NN_LICENSE_SERVER or http://127.0.0.1:7070.`;

/** How long admin waits for a server that is still starting (connection refused, no token file yet). */
const START_WAIT_MS = 5000;

const HEX32 = /^[0-9a-f]{64}$/;

function show(io: CommandIO, json: boolean, value: unknown, lines: () => string[]): void {
  io.stdout(json ? JSON.stringify(value, null, 2) + '\n' : lines().join('\n') + '\n');
}

const date = (s: number): string => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

type AdminValues = Record<string, string | boolean | string[] | undefined>;

/**
 * The admin token in the server's data directory (`--data DIR`, default ./license-data). A
 * server started a moment ago may not have written it yet: waits up to {@link START_WAIT_MS}.
 */
async function dataDirToken(dir: string | undefined): Promise<string> {
  const path = join(resolve(dir ?? 'license-data'), 'admin.token');
  const deadline = Date.now() + START_WAIT_MS;
  while (!existsSync(path) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(path)) throw new EnclaveNnError('USAGE', `Cannot run 'admin': no admin token (--token, --token-file, $ENCLAVE_NN_ADMIN_TOKEN, or --data DIR of the server; ${path} does not exist)`);
  return readFileSync(path, 'utf8').trim();
}

/**
 * True while a live process holds the embedded database of the data directory but does not
 * answer yet: a server opening its database (slow on a loaded machine) is waited for.
 */
function embeddedStoreOpening(dir: string | undefined): boolean {
  try {
    const pid = Number(readFileSync(join(resolve(dir ?? 'license-data'), 'db', 'enclave-nn.lock'), 'utf8'));
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // no lock, or its process is gone
  }
}

/** The policy `models add|update` register, from the measurement options (the same words as `split`). */
async function policyOf(values: AdminValues, modelId: string, io: CommandIO, action: 'add' | 'update'): Promise<ModelPolicy> {
  const words = readMeasurements(`admin models ${action}`, values as Parameters<typeof readMeasurements>[1]);
  let mrEnclave = words.mrEnclave;
  let mrSigner = words.mrSigner;
  let minSvn = words.minSvn ?? (values['min-isvsvn'] === undefined ? undefined : nonNegative('--min-isvsvn', values['min-isvsvn'] as string));
  let insecureSim = false;
  if (typeof values.bundle === 'string') {
    const b = await readBundleFile(values.bundle);
    if (b.header.modelId !== modelId) throw new EnclaveNnError('USAGE', `Cannot register model: ${values.bundle} is model ${b.header.modelId}, not ${modelId}`);
    const platforms = b.header.policy.platforms;
    mrEnclave = [...new Set([...mrEnclave, ...platforms.flatMap((p) => p.measurements.filter((m) => HEX32.test(m)))])];
    mrSigner = [...new Set([...mrSigner, ...platforms.flatMap((p) => p.mrSigners ?? [])])];
    minSvn ??= Math.max(0, ...platforms.map((p) => p.minIsvSvn ?? 0));
    // A bundle for the sim platform only: its enclaves are sim enclaves (INSECURE, development).
    insecureSim = platforms.every((p) => p.kind === 'sim');
  }
  if (values['local-sim-measurement']) {
    const { localSimMeasurement } = await import('../../enclave/trusted-program.ts');
    mrEnclave = [...new Set([...mrEnclave, await localSimMeasurement()])];
  }
  if (insecureSim) {
    io.stderr(`enclave-nn: INSECURE: model ${modelId} is a sim model: its key goes to sim enclaves (which protect nothing) on a server started with --insecure-trust-sim\n`);
  } else if (mrEnclave.length === 0 && mrSigner.length === 0) {
    if (!values['insecure-any-measurement']) throw new EnclaveNnError('USAGE', 'Cannot register model: no accepted measurement (--bundle, --mrenclave, --mrsigner or --local-sim-measurement); --insecure-any-measurement gives the key to ANY enclave');
    io.stderr('enclave-nn: INSECURE: this model\'s key will be released to an enclave of any measurement\n');
  }
  const accepted = (values['accept-tcb'] as string[] | undefined) ?? [];
  for (const st of accepted) {
    if (!(ACCEPTABLE_TCB_STATUSES as readonly string[]).includes(st)) throw new EnclaveNnError('USAGE', `Cannot register model: --accept-tcb '${st}' is not one of ${ACCEPTABLE_TCB_STATUSES.join(', ')}`);
  }
  if (accepted.some((st) => st !== 'UpToDate')) io.stderr(`enclave-nn: platforms with TCB status ${accepted.filter((st) => st !== 'UpToDate').join(', ')} (known, unfixed advisories) will receive this model's key\n`);
  // sim quotes always carry the DEBUG attribute: naming the sim platform accepts them.
  const policy: ModelPolicy = {
    mrEnclave, mrSigner, allowDebug: values['allow-debug'] === true || values.platform === 'sim', minIsvSvn: minSvn ?? 0, ...(insecureSim ? { insecureSim } : {}),
    // UpToDate stays accepted: --accept-tcb adds statuses by name (docs/license-protocol.md §4.5.1).
    ...(accepted.length ? { acceptedTcbStatuses: [...new Set(['UpToDate', ...accepted])] as ModelPolicy['acceptedTcbStatuses'] } : {}),
  };
  if (values.monitor !== undefined) {
    if (!isMonitorAction(values.monitor)) throw new EnclaveNnError('USAGE', `Cannot register model: --monitor '${values.monitor as string}' is not ${MONITOR_ACTION_WORDS}`);
    policy.monitor = values.monitor;
  }
  if (policy.allowDebug) io.stderr('enclave-nn: INSECURE: DEBUG enclaves (readable memory) will receive this model\'s key\n');
  return policy;
}

function nonNegative(flag: string, v: string): number {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new EnclaveNnError('USAGE', `Cannot run 'admin': ${flag} must be a non-negative integer, got '${v}'`);
  return Number(v);
}

const command: Command = {
  name: 'admin',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('admin', argv, {
      server: { type: 'string' }, token: { type: 'string' }, 'token-file': { type: 'string' }, json: { type: 'boolean' },
      ...MEASUREMENT_OPTIONS, bundle: { type: 'string' },
      'insecure-any-measurement': { type: 'boolean' }, 'local-sim-measurement': { type: 'boolean' }, 'allow-debug': { type: 'boolean' }, 'min-isvsvn': { type: 'string' },
      'accept-tcb': { type: 'string', multiple: true }, collateral: { type: 'string' }, monitor: { type: 'string' },
      name: { type: 'string' }, customer: { type: 'string' }, model: { type: 'string' }, credits: { type: 'string' }, id: { type: 'string' },
      days: { type: 'string' }, 'offline-inferences': { type: 'string' }, 'offline-seconds': { type: 'string' }, reason: { type: 'string' },
      output: { type: 'string', short: 'o' }, data: { type: 'string' }, db: { type: 'string' }, 'insecure-trust-sim': { type: 'boolean' },
      subject: { type: 'string' }, refused: { type: 'boolean' }, limit: { type: 'string' },
    });
    const [group, action, arg] = positionals;
    const json = values.json === true;
    const int = (flag: string, v: string | undefined): number | undefined => v === undefined ? undefined : nonNegative(flag, v);
    const client = async (): Promise<LicenseClient> => {
      const token = values.token ?? (values['token-file'] ? readFileSync(values['token-file'], 'utf8').trim() : (io.env ?? process.env).ENCLAVE_NN_ADMIN_TOKEN) ?? await dataDirToken(values.data);
      return new LicenseClient(values.server ?? (io.env ?? process.env).ENCLAVE_NN_LICENSE_SERVER ?? 'http://127.0.0.1:7070', token, { waitMs: START_WAIT_MS, starting: () => embeddedStoreOpening(values.data) });
    };
    const call = async <T = Record<string, unknown>>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => (await client()).request<T>(method, path, body);
    const filter = `${values.customer ? `customer=${encodeURIComponent(values.customer)}&` : ''}${values.model ? `model=${encodeURIComponent(values.model)}` : ''}`;
    const licenseLine = (l: Record<string, unknown>): string =>
      `${l.licenseId as string}  ${l.customerId as string}  ${l.modelId as string}  credits ${l.creditsGranted as number}/${l.creditsTotal as number} granted  ${date(l.notBefore as number)}..${date(l.notAfter as number)}${l.revoked ? `  REVOKED (${l.revokedReason as string})` : ''}${typeof l.monitorAlarmAt === 'number' ? `  EXTRACTION ALARM since ${date(l.monitorAlarmAt)}` : ''}`;

    switch (`${group ?? ''} ${action ?? ''}`) {
      case 'models add': {
        const keyPath = required('admin models add', 'the provider key file', arg);
        const key = decodeProviderKeyFile(new Uint8Array(readFileSync(keyPath)), keyPath);
        const policy = await policyOf(values, key.modelId, io, 'add');
        const body = { providerKey: JSON.parse(readFileSync(keyPath, 'utf8')) as unknown, policy };
        const r = await call('POST', '/v1/admin/models', body);
        show(io, json, r, () => [`registered model ${key.modelId}${policy.insecureSim ? ' (INSECURE sim model)' : ''}`]);
        return 0;
      }
      case 'models update': {
        const id = required('admin models update', 'a model id', arg);
        const policy = await policyOf(values, id, io, 'update');
        const r = await call('POST', `/v1/admin/models/${encodeURIComponent(id)}/policy`, { policy });
        show(io, json, r, () => [`updated the policy of model ${id}${policy.insecureSim ? ' (INSECURE sim model)' : ''}`]);
        return 0;
      }
      case 'models remove': {
        const id = required('admin models remove', 'a model id', arg);
        const r = await call('POST', `/v1/admin/models/${encodeURIComponent(id)}/remove`, {});
        show(io, json, r, () => [`removed model ${id}`]);
        return 0;
      }
      case 'models list': {
        const r = await call<{ models: { id: string; policy: ModelPolicy }[] }>('GET', '/v1/admin/models');
        show(io, json, r, () => r.models.length ? r.models.map((m) => `${m.id}  ${m.policy.mrEnclave.length ? m.policy.mrEnclave.map((h) => h.slice(0, 16)).join(',') : 'any measurement'}${m.policy.allowDebug ? '  debug allowed' : ''}${m.policy.insecureSim ? '  INSECURE sim model' : ''}${m.policy.monitor && m.policy.monitor !== 'report' ? `  on extraction alarm: ${m.policy.monitor}` : ''}`) : ['no models']);
        return 0;
      }
      case 'customers list': {
        const r = await call<{ customers: { id: string; name: string; createdAt: number }[] }>('GET', '/v1/admin/customers');
        show(io, json, r, () => r.customers.length ? r.customers.map((c) => `${c.id}  ${c.name}  since ${date(c.createdAt)}`) : ['no customers']);
        return 0;
      }
      case 'customers add': {
        const id = required('admin customers add', 'a customer id', arg);
        const r = await call('POST', '/v1/admin/customers', { id, name: values.name ?? id });
        show(io, json, r, () => [`added customer ${id}`]);
        return 0;
      }
      case 'licenses grant': {
        const credits = int('--credits', required('admin licenses grant', '--credits', values.credits))!;
        const days = int('--days', values.days);
        const now = Math.floor(Date.now() / 1000);
        const maxInferences = int('--offline-inferences', values['offline-inferences']);
        const maxSeconds = int('--offline-seconds', values['offline-seconds']);
        const r = await call('POST', '/v1/admin/licenses', {
          customerId: required('admin licenses grant', '--customer', values.customer), modelId: required('admin licenses grant', '--model', values.model), credits,
          ...(values.id ? { licenseId: values.id } : {}), ...(days !== undefined ? { notBefore: now, notAfter: now + days * 86400 } : {}),
          offline: { ...(maxInferences !== undefined ? { maxInferences } : {}), ...(maxSeconds !== undefined ? { maxSeconds } : {}) },
        });
        show(io, json, r, () => [licenseLine(r)]);
        return 0;
      }
      case 'licenses revoke': {
        const r = await call('POST', `/v1/admin/licenses/${encodeURIComponent(required('admin licenses revoke', 'a license id', arg))}/revoke`, { reason: values.reason });
        show(io, json, r, () => [licenseLine(r)]);
        return 0;
      }
      case 'licenses credit': {
        const credits = int('--credits', required('admin licenses credit', '--credits', values.credits));
        const r = await call('POST', `/v1/admin/licenses/${encodeURIComponent(required('admin licenses credit', 'a license id', arg))}/credits`, { credits });
        show(io, json, r, () => [licenseLine(r)]);
        return 0;
      }
      case 'licenses list': {
        const r = await call<{ licenses: Record<string, unknown>[] }>('GET', `/v1/admin/licenses?${filter}`);
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
          const insecureSimRoot = values['insecure-trust-sim'] ? insecureSimTrust('admin licenses fulfill', io.stderr) : undefined;
          const { store } = await openStore(values.db ?? join(data, 'db'));
          try {
            const collateral = values.collateral ? collateralDir(resolve(values.collateral)) : undefined;
            response = await new LicenseService({ store, masterKey: loadMasterKey(data, io.env), roots: [INTEL_SGX_ROOT_CA], ...(insecureSimRoot ? { insecureSimRoot } : {}), ...(collateral ? { collateral } : {}) }).fulfill(request) as unknown as Record<string, unknown>;
          } finally {
            await store.close();
          }
        } else {
          response = await call('POST', '/v1/admin/fulfill', { request });
        }
        // The enclave's sealed pending key travels back with the answer (opaque ciphertext).
        const full = { ...response, ...(typeof (request as unknown as Record<string, unknown>).pending === 'string' ? { pending: (request as unknown as Record<string, unknown>).pending } : {}) };
        await writeFileAtomic(out, new TextEncoder().encode(JSON.stringify(full, null, 2) + '\n'), 0o644);
        show(io, json, full, () => [`wrote ${out}: license ${response.licenseId as string}, ${response.allowance as number} credits for enclave ${(response.enclaveId as string).slice(0, 16)}…`]);
        return 0;
      }
      case 'usage ': case 'usage undefined': {
        const r = await call<{ usage: { customerId: string; modelId: string; licenses: number; creditsTotal: number; creditsGranted: number; used: number; enclaves: number }[] }>('GET', `/v1/admin/usage?${filter}`);
        show(io, json, r, () => r.usage.length ? r.usage.map((u) => `${u.customerId}  ${u.modelId}  licenses ${u.licenses}  credits ${u.creditsTotal}  granted ${u.creditsGranted}  used ${u.used}  enclaves ${u.enclaves}`) : ['no usage']);
        return 0;
      }
      case 'audit ': case 'audit undefined': {
        const q = `limit=${int('--limit', values.limit) ?? 100}${values.subject ? `&subject=${encodeURIComponent(values.subject)}` : ''}${values.refused ? '&outcome=refused' : ''}`;
        const r = await call<{ audit: { at: number; actor: string; action: string; subject: string; outcome: string; code: string; reason: string }[] }>('GET', `/v1/admin/audit?${q}`);
        show(io, json, r, () => r.audit.map((a) => `${date(a.at)}  ${a.outcome.padEnd(7)}  ${a.action.padEnd(16)}  ${a.subject}  ${a.code}: ${a.reason}`));
        return 0;
      }
      default:
        throw new EnclaveNnError('USAGE', `Cannot run 'admin': unknown subcommand '${positionals.join(' ')}'`);
    }
  },
};

export default command;
