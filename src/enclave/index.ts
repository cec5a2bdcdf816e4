/**
 * The enclave: a separate trusted process speaking docs/enclave-protocol.md over pipes.
 *
 * - host side: {@link EnclaveProcess} (spawn, HELLO, ATTEST, PROVISION, SEAL/UNSEAL, LOAD,
 *   FORWARD, STATUS, CLOSE; request ids, timeouts; `ENCLAVE_DIED` when the process exits),
 *   {@link EnclaveHandle} (what key providers get)
 * - key provisioning: {@link provisionTranscript}, {@link encodeProvisionPayload} (§4.3) — the
 *   license server builds the same transcript and wraps with `wrapToX25519`
 * - the trusted program: `trusted-main.ts` (entry), `trusted/enclave-state.ts` (state machine),
 *   bundled into one file by {@link trustedProgramPath}
 * - engines: {@link getEngine} (`ort`, `wasm`)
 * - the codec: `./protocol/index.ts`
 *
 * @example
 * ```ts
 * const enclave = await EnclaveProcess.start({ platform: 'sim', engine: 'ort' });
 * const nonce = randomBytes(32);
 * const { publicKey, evidence } = await enclave.attest(nonce);
 * const payload = encodeProvisionPayload({ modelKey, license: new Uint8Array(0) });
 * await enclave.provision(modelId, wrapToX25519(publicKey, payload, provisionTranscript({ modelId, nonce, evidence })));
 * const blob = await enclave.seal(); // keep it: UNSEAL on the next start, offline
 * await enclave.load(bundle.headerBytes, bundle.signature, bundle.sealedTail.chunks);
 * const { outputs, computeNs } = await enclave.forward(cutTensors);
 * await enclave.close();
 * ```
 *
 * @module
 */
export { EnclaveProcess, type EnclaveHandle, type EnclaveStartOptions, type ForwardResult, type PollStats, type StartTimings } from './host.ts';
export { EnclavePool, type EnclavePoolOptions } from './pool.ts';
export { provisionTranscript, encodeProvisionPayload, decodeProvisionPayload, type ProvisionContext, type ProvisionPayload } from '../enclave-protocol/provision-transcript.ts';
export { trustedProgramPath, localSimMeasurement } from './trusted-program.ts';
export { ENGINES, DEFAULT_ENGINE, getEngine, type Engine, type EngineSession } from './engines/index.ts';
export { MSG, OK, PROTOCOL_VERSION, MAX_FRAME_SIZE, ERROR_CODES, ProtocolError, type HelloOk, type AttestOk, type Frame } from '../enclave-protocol/index.ts';
