/**
 * Air-gapped licensing on the customer's side (docs/license-protocol.md §4.6): a license
 * request made by an enclave that seals its pending key, and a key provider that provisions
 * from the provider's answer file — no network between customer and license server.
 */
import { readFileSync } from 'node:fs';
import type { Bundle } from '../bundle/types.ts';
import { randomBytes } from '../crypto/index.ts';
import { EnclaveProcess, type EnclaveHandle, type EnclaveStartOptions } from '../enclave/host.ts';
import { decodeBytes, encodeBytes, PayloadReader } from '../enclave-protocol/index.ts';
import { EnclaveNnError } from '../errors.ts';
import type { KeyProvider } from '../enclave/key-provider.ts';
import { restoreLicenseState, saveLicenseState } from './client.ts';
import { LICENSE_MSG } from '../enclave/trusted/enclave-license.ts';
import { NONCE_SIZE } from '../license-format/provision.ts';
import type { LicenseRequest, LicenseResponse } from './service.ts';
import { fromBase64Url, toBase64Url } from '../util/encoding.ts';


/** A license request as written to `request.json`: §4.6 plus the enclave's sealed pending key. */
export type LicenseRequestFile = LicenseRequest & { pending: string };

/**
 * Starts an enclave, has it attest over a fresh nonce and seal its pending key, and returns the
 * request to send to the provider.
 *
 * @example
 * ```ts
 * const req = await createLicenseRequest(bundle, 'lic-1');
 * writeFileSync('request.json', JSON.stringify(req));
 * ```
 */
export async function createLicenseRequest(bundle: Bundle, licenseId: string, start: EnclaveStartOptions = {}): Promise<LicenseRequestFile> {
  const enclave = await EnclaveProcess.start(start);
  try {
    // 32 random bytes: the server records it, so this request can be fulfilled once only.
    const nonce = randomBytes(NONCE_SIZE);
    const a = await enclave.attest(nonce);
    const pending = decodeBytes(new PayloadReader((await enclave.call(LICENSE_MSG.PENDING_SEAL, [])).body));
    return {
      type: 'enclave-nn-license-request', version: 1, licenseId, modelId: bundle.header.modelId,
      nonce: toBase64Url(nonce), keyPub: toBase64Url(a.publicKey), evidence: toBase64Url(a.evidence), pending: toBase64Url(pending),
    };
  } finally {
    await enclave.close();
  }
}

/** Options of {@link licenseFileKeyProvider}. */
export interface LicenseFileSource {
  /** The provider's answer (`admin licenses fulfill … -o license.json`). */
  file: string;
  /** The sealed license state: used instead of the file when it exists and opens. @defaultValue none */
  stateFile?: string;
  /** When the state file does not open, start again from the license file and replace it. @defaultValue false */
  reprovision?: boolean;
}

/**
 * A key provider from an air-gapped license file: the enclave unseals the key it made the
 * request with, then opens the wrapped model key and license (§4.6).
 *
 * @example
 * ```ts
 * const s = await Session.create({ bundle: 'model.enn', keySource: licenseFileKeyProvider({ file: 'license.json', stateFile: 'model.enn.license' }) });
 * ```
 */
export function licenseFileKeyProvider(o: LicenseFileSource): KeyProvider {
  return {
    name: 'license-file',
    async provision(enclave: EnclaveHandle, bundle: Bundle): Promise<void> {
      const modelId = bundle.header.modelId;
      if (await restoreLicenseState(enclave, modelId, o, `start again from ${o.file} (its allowance, not the counters sealed in the state)`)) return;
      let r: Partial<LicenseResponse & { pending: string }>;
      try {
        r = JSON.parse(readFileSync(o.file, 'utf8')) as typeof r;
      } catch (e) {
        throw new EnclaveNnError('LICENSE_FILE', `Cannot read license file ${o.file}: ${(e as Error).message.split('\n')[0]}`);
      }
      if (r.type !== 'enclave-nn-license-response' || r.version !== 1 || typeof r.wrapped !== 'string' || typeof r.pending !== 'string') {
        throw new EnclaveNnError('LICENSE_FILE', `Cannot read license file ${o.file}: not an enclave-nn-license-response version 1 with wrapped and pending`);
      }
      if (r.modelId !== modelId) throw new EnclaveNnError('LICENSE_MODEL', `Cannot use license file ${o.file}: it is for model ${String(r.modelId)}, the bundle is ${modelId}`);
      await enclave.call(LICENSE_MSG.PENDING_UNSEAL, encodeBytes(fromBase64Url(r.pending)));
      await enclave.provision(modelId, fromBase64Url(r.wrapped));
      if (o.stateFile) await saveLicenseState(enclave, o.stateFile);
    },
  };
}
