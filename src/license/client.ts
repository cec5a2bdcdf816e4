/**
 * The customer side of the license protocol over HTTP (docs/license-protocol.md §8): a client
 * for challenge, provision and usage, the `license-server` key provider for sessions, and the
 * host's check-in (usage report → grant) and state file helpers.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Bundle } from '../bundle/types.ts';
import { writeFileAtomic } from '../bundle/file.ts';
import type { EnclaveHandle } from '../enclave/host.ts';
import { decodeStr, encodeStr, PayloadReader } from '../enclave-protocol/index.ts';
import { EnclaveNnError, isErrorCode } from '../errors.ts';
import type { KeyProvider } from '../enclave/key-provider.ts';
import type { TensorData } from '../onnx/ort.ts';
import { LICENSE_MSG } from '../enclave/trusted/enclave-license.ts';

const b64u = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
const fromB64u = (s: unknown, what: string): Uint8Array => {
  if (typeof s !== 'string') throw new EnclaveNnError('LICENSE_SERVER_RESPONSE', `Cannot read the license server's answer: ${what} is missing`, { exitCode: 1 });
  return new Uint8Array(Buffer.from(s, 'base64url'));
};

/**
 * A JSON client of a license server.
 *
 * @example
 * ```ts
 * const c = new LicenseClient('http://127.0.0.1:8443');
 * const { nonce } = await c.challenge('lic-1');
 * ```
 */
export class LicenseClient {
  readonly url: string;
  readonly adminToken: string | undefined;
  readonly #waitMs: number;
  readonly #starting: () => boolean;

  /**
   * `waitMs`: how long a refused connection is retried (a server that is still starting);
   * `starting`: while it says true, retries go on past `waitMs` (at most a minute). Only a
   * refused connection is retried: the request never left.
   * @defaultValue waitMs 0, starting () => false
   */
  constructor(url: string, adminToken?: string, options: { waitMs?: number; starting?: () => boolean } = {}) {
    this.url = url.replace(/\/+$/, '');
    this.adminToken = adminToken;
    this.#waitMs = options.waitMs ?? 0;
    this.#starting = options.starting ?? (() => false);
  }

  /** POSTs (or GETs without body) `path`; a refusal becomes an EnclaveNnError with the server's code and message. */
  async request<T = Record<string, unknown>>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let res: Response;
    const t0 = Date.now();
    const deadline = t0 + this.#waitMs;
    for (;;) {
      try {
        res = await fetch(this.url + path, {
          method,
          headers: { 'content-type': 'application/json', ...(this.adminToken ? { authorization: `Bearer ${this.adminToken}` } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(30_000),
        });
        break;
      } catch (cause) {
        const refused = ((cause as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED';
        if (refused && (Date.now() < deadline || (Date.now() - t0 < 60_000 && this.#starting()))) {
          await new Promise((r) => setTimeout(r, 150));
          continue;
        }
        const waited = refused && this.#waitMs > 0 ? ` (connection refused for ${((Date.now() - t0) / 1000).toFixed(0)} s: is the server running?)` : '';
        throw new EnclaveNnError('LICENSE_SERVER_UNREACHABLE', `Cannot reach the license server ${this.url}: ${(cause as Error).message}${waited}`, { cause });
      }
    }
    let json: Record<string, unknown>;
    try {
      json = await res.json() as Record<string, unknown>;
    } catch (cause) {
      throw new EnclaveNnError('LICENSE_SERVER_RESPONSE', `Cannot read the license server's answer to ${path}: not JSON (HTTP ${res.status})`, { cause, exitCode: 1 });
    }
    if (!res.ok) {
      const err = json.error as { code?: string; message?: string } | undefined;
      throw new EnclaveNnError(err?.code ?? 'LICENSE_SERVER_REFUSED', `License server refused ${path}: ${err?.message ?? `HTTP ${res.status}`}`, { exitCode: res.status >= 500 ? 1 : 2 });
    }
    return json as T;
  }

  /** `POST /v1/challenge` (§8.1). */
  async challenge(licenseId: string): Promise<{ nonce: Uint8Array; modelId: string; expiresAt: number }> {
    const r = await this.request('POST', '/v1/challenge', { licenseId });
    return { nonce: fromB64u(r.nonce, 'nonce'), modelId: r.modelId as string, expiresAt: r.expiresAt as number };
  }

  /** `POST /v1/provision` (§8.1). */
  async provision(o: { licenseId: string; nonce: Uint8Array; evidence: Uint8Array; keyPub: Uint8Array }): Promise<{ wrapped: Uint8Array; enclaveId: string; allowance: number; modelId: string }> {
    const r = await this.request('POST', '/v1/provision', { licenseId: o.licenseId, nonce: b64u(o.nonce), evidence: b64u(o.evidence), keyPub: b64u(o.keyPub) });
    return { wrapped: fromB64u(r.wrapped, 'wrapped'), enclaveId: r.enclaveId as string, allowance: r.allowance as number, modelId: r.modelId as string };
  }

  /** `POST /v1/usage` (§8.1). */
  async usage(report: string): Promise<{ grant: string; allowance: number; granted: number }> {
    return this.request('POST', '/v1/usage', { report });
  }
}

/** Options of {@link licenseServerKeyProvider}. */
export interface LicenseServerSource {
  /** The license server's URL. */
  server: string;
  /** The license id the provider issued. */
  licenseId: string;
  /**
   * The sealed license state file (opaque ciphertext): read at start to run offline, written
   * after provisioning and check-ins. @defaultValue none (provision online at every start)
   */
  stateFile?: string;
}

/**
 * A key provider that provisions the enclave from a license server (§4), or offline from its
 * sealed state file when one exists and opens in this enclave.
 *
 * @example
 * ```ts
 * const keys = licenseServerKeyProvider({ server: 'http://127.0.0.1:8443', licenseId: 'lic-1', stateFile: 'model.enn.license' });
 * const s = await Session.create({ bundle: 'model.enn', keySource: keys });
 * ```
 */
export function licenseServerKeyProvider(o: LicenseServerSource): KeyProvider {
  return {
    name: 'license-server',
    async provision(enclave: EnclaveHandle, bundle: Bundle): Promise<void> {
      const modelId = bundle.header.modelId;
      if (o.stateFile && existsSync(o.stateFile)) {
        try {
          if ((await enclave.unseal(new Uint8Array(readFileSync(o.stateFile)))) === modelId) return;
          throw new EnclaveNnError('LICENSE_STATE', `Cannot use license state ${o.stateFile}: it is for another model`);
        } catch (e) {
          // Sealed by another program or installation: provision online instead.
          if (!isErrorCode(e, 'ENCLAVE_SEAL')) throw e;
        }
      }
      const client = new LicenseClient(o.server);
      const c = await client.challenge(o.licenseId);
      if (c.modelId !== modelId) throw new EnclaveNnError('LICENSE_MODEL', `Cannot provision: license ${o.licenseId} is for model ${c.modelId}, the bundle is ${modelId}`);
      const a = await enclave.attest(c.nonce);
      const p = await client.provision({ licenseId: o.licenseId, nonce: c.nonce, evidence: a.evidence, keyPub: a.publicKey });
      await enclave.provision(modelId, p.wrapped);
      if (o.stateFile) await saveLicenseState(enclave, o.stateFile);
    },
  };
}

/** Seals the enclave's license state (counters included) into `file` (mode 0600, atomic). */
export async function saveLicenseState(enclave: EnclaveHandle, file: string): Promise<void> {
  await writeFileAtomic(file, await enclave.seal(), 0o600);
}

/**
 * Checks in (§5): asks the enclave for a signed usage report, sends it to the server and hands
 * the grant back to the enclave. Resolves to what was granted; rejects with the server's
 * refusal (e.g. `LICENSE_REVOKED`) or the enclave's (`ENCLAVE_LICENSE`).
 *
 * @example
 * ```ts
 * const { granted } = await checkIn(session.enclaveProcess!, 'http://127.0.0.1:8443');
 * ```
 */
export async function checkIn(enclave: EnclaveHandle, server: string, o: { stateFile?: string } = {}): Promise<{ granted: number; allowance: number }> {
  const report = decodeStr(new PayloadReader((await enclave.call(LICENSE_MSG.USAGE_REPORT, [])).body));
  // The report's sequence number is spent now: keep the state so a restart does not reuse it.
  if (o.stateFile) await saveLicenseState(enclave, o.stateFile);
  const r = await new LicenseClient(server).usage(report);
  await enclave.call(LICENSE_MSG.GRANT, encodeStr(r.grant));
  if (o.stateFile) await saveLicenseState(enclave, o.stateFile);
  return { granted: r.granted, allowance: r.allowance };
}

/**
 * Runs `feeds` on a session provisioned under a license. When the enclave refuses for want of
 * credits (`ENCLAVE_QUOTA`) or of a recent check-in (`ENCLAVE_LICENSE`) and a server is given,
 * checks in once and retries; afterwards the license state (counters) is sealed into
 * `stateFile`, so the next start continues from here rather than from provisioning.
 *
 * @example
 * ```ts
 * const out = await runLicensed(session, feeds, { server: 'http://127.0.0.1:7070', stateFile: 'model.enn.license' });
 * ```
 */
export async function runLicensed(
  session: { run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>>; readonly enclaveProcess: EnclaveHandle & { readonly alive: boolean } | undefined },
  feeds: Record<string, TensorData>,
  o: { server?: string; stateFile?: string },
): Promise<Record<string, TensorData>> {
  try {
    return await session.run(feeds);
  } catch (e) {
    if (!o.server || !(isErrorCode(e, 'ENCLAVE_QUOTA') || isErrorCode(e, 'ENCLAVE_LICENSE')) || !session.enclaveProcess?.alive) throw e;
    try {
      await checkIn(session.enclaveProcess, o.server, o.stateFile ? { stateFile: o.stateFile } : {});
    } catch (cause) {
      throw new EnclaveNnError((e as EnclaveNnError).code, `${(e as Error).message}; the check-in failed too: ${(cause as Error).message}`, { cause });
    }
    return await session.run(feeds);
  } finally {
    const enclave = session.enclaveProcess;
    if (o.stateFile && enclave?.alive) await saveLicenseState(enclave, o.stateFile);
  }
}
