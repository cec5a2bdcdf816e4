/**
 * How a session gets the model key into its enclave: the extension point for the development
 * key, the license server and license files (docs/enclave-protocol.md §4.2–4.3, §4.7).
 */
import type { Bundle } from '../bundle/types.ts';
import type { EnclaveHandle } from './host.ts';

/**
 * Gets an enclave from `hello` to `provisioned`: typically ATTEST with a fresh nonce, have the
 * key holder verify the evidence and wrap {model key, license} to the attested key, PROVISION.
 * Called on the first start and again on a restart when the sealed state cannot be used.
 */
export interface KeyProvider {
  /** For messages: `'insecure-dev-key'`, `'license-server'`, … */
  readonly name: string;
  /** Provisions `enclave` for `bundle` (the header is public; the key is the provider's). */
  provision(enclave: EnclaveHandle, bundle: Bundle): Promise<void>;
}

/** The development path: the host holds the provider key file (INSECURE). */
export interface InsecureDevKeySource {
  kind: 'insecure-dev-key';
  /** The provider key file's path or bytes, or a decoded ProviderKey. */
  providerKey: string | Uint8Array | import('../bundle/types.ts').ProviderKey;
}

/**
 * Where a session's key comes from: a built-in source, or any {@link KeyProvider} (the license
 * engineer's `license-server` and `license-file` providers plug in here).
 */
export type KeySource = InsecureDevKeySource | KeyProvider;
