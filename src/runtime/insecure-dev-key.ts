/**
 * The INSECURE development key path (`--insecure-dev-key provider.key`): the host reads the
 * provider's key file — so the customer holds the provider's secret — and wraps the model key
 * to the enclave's attested ephemeral key. The key still never crosses the pipe in the clear,
 * which keeps the enclave side identical to the license-server path.
 */
import { readFileSync } from 'node:fs';
import { reportDataFor } from '../attest/report-data.ts';
import { parseQuote } from '../attest/quote.ts';
import { decodeProviderKeyFile } from '../bundle/provider-key.ts';
import type { ProviderKey } from '../bundle/types.ts';
import { randomBytes, timingSafeEqual, wrapToX25519, zeroize } from '../crypto/index.ts';
import { EnclaveNnError } from '../errors.ts';
import { encodeProvisionPayload, provisionTranscript } from '../enclave-protocol/provision-transcript.ts';
import type { InsecureDevKeySource, KeyProvider } from '../enclave/key-provider.ts';

/** The line every use of the development key path prints on stderr (STYLE.md 11). */
export const DEV_KEY_WARNING = 'enclave-nn: INSECURE: development key path (--insecure-dev-key): the provider\'s model key is on this machine; for development only';

let warned = false;

/**
 * A {@link KeyProvider} from a provider key (file path, file bytes or decoded).
 *
 * @example
 * ```ts
 * const session = await Session.create({ bundle: 'model.enn', keySource: insecureDevKeyProvider('model.enn.key') });
 * ```
 */
export function insecureDevKeyProvider(source: InsecureDevKeySource['providerKey']): KeyProvider {
  if (!warned) { warned = true; process.stderr.write(DEV_KEY_WARNING + '\n'); }
  const key: ProviderKey = typeof source === 'string'
    ? decodeProviderKeyFile(new Uint8Array(readFileSync(source)), source)
    : source instanceof Uint8Array ? decodeProviderKeyFile(source) : source;
  return {
    name: 'insecure-dev-key',
    async provision(enclave, bundle) {
      const modelId = bundle.header.modelId;
      if (key.modelId !== modelId) {
        throw new EnclaveNnError('DEV_KEY_MODEL', `Cannot provision the enclave: the provider key is for model '${key.modelId}', the bundle is '${modelId}'`);
      }
      // A fresh nonce per attestation: the wrap is bound to this one (§4.3).
      const nonce = randomBytes(32);
      const { publicKey, evidence } = await enclave.attest(nonce);
      // Not a security check (this host holds the key anyway): it catches a broken enclave early.
      if (!timingSafeEqual(parseQuote(evidence).body.reportData, reportDataFor(publicKey, nonce))) {
        throw new EnclaveNnError('DEV_KEY_EVIDENCE', 'Cannot provision the enclave: its evidence is not bound to its key and this nonce', { exitCode: 1 });
      }
      const payload = encodeProvisionPayload({ modelKey: key.modelKey, license: new Uint8Array(0) });
      try {
        await enclave.provision(modelId, wrapToX25519(publicKey, payload, provisionTranscript({ modelId, nonce, evidence })));
      } finally {
        zeroize(payload);
      }
    },
  };
}
