import { bundleOfSplit } from '../bundle/create.ts';
import type { ProviderKey } from '../bundle/types.ts';
import { readBundle } from '../bundle/read.ts';
import { EnclaveProcess, type EnclaveStartOptions } from '../enclave/host.ts';
import type { TensorData } from '../onnx/ort.ts';
import { insecureDevKeyProvider } from '../runtime/insecure-dev-key.ts';
import type { SplitResult } from '../split/extract.ts';
import { nowMs } from '../report/stats.ts';

/** What the bench needs of a running enclave for one split. */
export interface BenchEnclave {
  /** Setup phases in milliseconds, measured while starting it. */
  readonly setup: { spawn: number; attest_provision: number; load_decrypt: number; session_create: number; ready_total: number; prewarmed: number };
  /** Bytes of the sealed tail in the bundle. */
  readonly sealedTailBytes: number;
  /** The TEE platform it runs on (HELLO): `'sim'`, `'gramine-sgx'`. */
  readonly platform: string;
  /** One forward through the enclave; `computeMs` is measured inside the enclave. */
  forward(feeds: Record<string, TensorData>): Promise<{ outputs: Record<string, TensorData>; computeMs: number }>;
  status(): Promise<{ peakRssBytes: number }>;
  /** Shuts the enclave down; resolves to the teardown time in milliseconds. */
  close(): Promise<number>;
}

/**
 * Seals `split` into a bundle with a fresh model key and starts an enclave on it through the
 * INSECURE development key path (the provider key never leaves this process in the clear: it
 * is wrapped to the enclave's attested key). Times each setup phase from the host's side, and
 * then what a user waits for with a prewarmed enclave ({@link prewarmedReadyMs}).
 */
export async function startBenchEnclave(split: SplitResult, engine: string, options: { ortThreads?: number } = {}): Promise<BenchEnclave> {
  const { bytes, providerKey } = bundleOfSplit(split);
  const bundle = readBundle(bytes);
  const start = { engine, ...(options.ortThreads === undefined ? {} : { ortThreads: options.ortThreads }) };
  // All setup times on one clock, performance.now(), which the host's load() also uses.
  const t0 = performance.now();
  const enclave = await EnclaveProcess.start(start);
  const tHello = performance.now();
  await insecureDevKeyProvider(providerKey).provision(enclave, bundle);
  const tProvisioned = performance.now();
  // decryptedAt: when the second-to-last chunk was acknowledged (decryption done but for the
  // last chunk; the rest is the last chunk and the engine session creation).
  const { decryptedAt } = await enclave.load(bundle.headerBytes, bundle.signature, bundle.sealedTail.chunks);
  const tReady = performance.now();
  const decryptEnd = Math.min(Math.max(decryptedAt, tProvisioned), tReady);
  // After the cold start, so that the first split's one-time costs (module loads, the trusted
  // program's build) stay where they were measured before: in the cold figures.
  const prewarmed = await prewarmedReadyMs(bundle, providerKey, start).catch(async (err: unknown) => { await enclave.close(); throw err; });
  return {
    setup: {
      spawn: tHello - t0,
      attest_provision: tProvisioned - tHello,
      load_decrypt: decryptEnd - tProvisioned,
      session_create: tReady - decryptEnd,
      ready_total: tReady - t0,
      prewarmed,
    },
    sealedTailBytes: bundle.sealedTail.chunks.reduce((a, c) => a + c.byteLength, 0),
    platform: enclave.hello.platformKind,
    async forward(feeds) {
      const r = await enclave.forward(feeds);
      return { outputs: r.outputs, computeMs: Number(r.computeNs) / 1e6 };
    },
    async status() {
      const s = await enclave.status();
      return { peakRssBytes: Number(s.peakRssSize ?? s.rssSize ?? 0) };
    },
    async close() {
      const c0 = nowMs();
      await enclave.close();
      return nowMs() - c0;
    },
  };
}

/**
 * The wait a user has with a prewarmed enclave (issue 14, item 3; `setup_prewarmed_ms`): an
 * enclave is booted and its engine loaded ahead of the bundle (`EnclaveProcess.prewarm`, what
 * `Session.prewarm` and `EnclavePool` do while the host reads inputs and loads the head); timed
 * from then on is what is left — attestation, provisioning, LOAD — up to a ready session. That
 * enclave is closed again; the measured one is started cold.
 */
export async function prewarmedReadyMs(bundle: ReturnType<typeof readBundle>, providerKey: ProviderKey, start: EnclaveStartOptions): Promise<number> {
  const warm = await EnclaveProcess.prewarm(start);
  try {
    const t0 = performance.now();
    await insecureDevKeyProvider(providerKey).provision(warm, bundle);
    await warm.load(bundle.headerBytes, bundle.signature, bundle.sealedTail.chunks);
    return performance.now() - t0;
  } finally {
    await warm.close();
  }
}
