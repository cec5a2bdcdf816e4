/**
 * The runtime: {@link Session} — the public head in this process (onnxruntime-node), the
 * private tail in an enclave (src/enclave). The library's face.
 *
 * - `Session.create({ bundle, keySource, engine?, platform?, enclave? })`
 * - `session.run(feeds)` → outputs (batch ≥ 1); `runTimed` adds the enclave's round-trip and
 *   compute times; `status()`; `close()`
 * - key sources: `{ kind: 'insecure-dev-key', providerKey }` (INSECURE, development) or any
 *   {@link KeyProvider} — `provision(enclave, bundle)` gets ATTEST/PROVISION/UNSEAL access
 *   through an {@link EnclaveHandle}; the license server and license files plug in there
 * - a crash of the enclave rejects the call with `ENCLAVE_DIED`; the next call starts a new
 *   enclave and re-provisions it from its sealed state (kept in memory, opaque)
 * - `.npy` files: {@link readNpy}, {@link writeNpy}
 *
 * @example
 * ```ts
 * import { Session } from './runtime/index.ts';
 * const session = await Session.create({ bundle: 'model.enn', keySource: { kind: 'insecure-dev-key', providerKey: 'model.enn.key' } });
 * const out = await session.run({ x: { dtype: 'float32', dims: [1, 784], data: pixels } });
 * await session.close();
 * ```
 *
 * @module
 */
export { Session, checkFeeds, type SessionOptions, type StartupTimings, type RunResult } from './session.ts';
export type { KeyProvider, KeySource, InsecureDevKeySource } from '../enclave/key-provider.ts';
export { insecureDevKeyProvider, DEV_KEY_WARNING } from './insecure-dev-key.ts';
export type { EnclaveHandle } from '../enclave/host.ts';
export { readNpy, writeNpy } from './npy.ts';
export { readInputs, describeOutputs } from './inputs.ts';
