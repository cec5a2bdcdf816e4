import { createBundle } from '../bundle/create.ts';
import { readBundle } from '../bundle/read.ts';
import { EnclaveProcess } from '../enclave/host.ts';
import { encodeModel } from '../onnx/codec.ts';
import type { TensorData } from '../onnx/ort.ts';
import { insecureDevKeyProvider } from '../runtime/insecure-dev-key.ts';
import type { SplitResult } from '../split/extract.ts';
import { nowMs } from '../report/stats.ts';

/** What the bench needs of a running enclave for one split. */
export interface BenchEnclave {
  /** Setup phases in milliseconds, measured while starting it. */
  readonly setup: { spawn: number; attest_provision: number; load_decrypt: number; session_create: number; ready_total: number };
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
 * is wrapped to the enclave's attested key). Times each setup phase from the host's side.
 */
export async function startBenchEnclave(split: SplitResult, engine: string): Promise<BenchEnclave> {
  const { bytes, providerKey } = createBundle({
    head: split.head ? encodeModel(split.head) : new Uint8Array(0), tail: encodeModel(split.tail),
    inputs: split.cutTensors, outputs: split.tailOutputs, headInputs: split.inputs,
  });
  const bundle = readBundle(bytes);
  // All setup times on one clock, performance.now(), which the host's load() also uses.
  const t0 = performance.now();
  const enclave = await EnclaveProcess.start({ engine });
  const tHello = performance.now();
  await insecureDevKeyProvider(providerKey).provision(enclave, bundle);
  const tProvisioned = performance.now();
  // decryptedAt: when the second-to-last chunk was acknowledged (decryption done but for the
  // last chunk; the rest is the last chunk and the engine session creation).
  const { decryptedAt } = await enclave.load(bundle.headerBytes, bundle.signature, bundle.sealedTail.chunks);
  const tReady = performance.now();
  const decryptEnd = Math.min(Math.max(decryptedAt, tProvisioned), tReady);
  return {
    setup: {
      spawn: tHello - t0,
      attest_provision: tProvisioned - tHello,
      load_decrypt: decryptEnd - tProvisioned,
      session_create: tReady - decryptEnd,
      ready_total: tReady - t0,
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
