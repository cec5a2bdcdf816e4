import type { Stat } from './stats.ts';

/** One batch size of the throughput sweep. */
export interface ThroughputRow {
  batch: number;
  /** batch / median back-to-back native call, samples per second */
  native_samples_per_s: number;
  /** batch / median back-to-back enclave round trip; NaN when the batch does not fit a frame */
  enclave_samples_per_s: number;
}

/** Everything measured for one split k (k = layers in the enclave; 0 = all public). */
export interface SplitMeasurement {
  k: number;
  /** The first private layer, or null for k = 0. */
  firstPrivateLayer: string | null;
  cutTensors: string[];
  t_head: Stat;
  /** The tail in-process on the enclave's engine, no enclave: the paper's "native code". */
  t_native: Stat;
  /** The tail's layers in the public runtime (onnxruntime-node): for the CPU impact. */
  t_tail_public: Stat;
  /** The tail through the enclave, round trip. */
  t_enclave: Stat;
  /** The tail's compute time measured inside the enclave. */
  t_enclave_compute: Stat;
  /** t_enclave − t_enclave_compute, per repeat. */
  t_boundary: Stat;
  /** The tail natively, the first call after ≥ 10 ms idle (absent in reports written before the cold method). */
  t_native_cold?: Stat;
  /** The enclave round trip, the first call after ≥ 10 ms idle. */
  t_enclave_cold?: Stat;
  /** The throughput sweep (`--batch 1,8,64`): samples per second, native and enclave, per batch size. */
  throughput?: ThroughputRow[];
  /**
   * Setup phases in milliseconds (one enclave start per split). `prewarmed`: what is left to wait
   * for when the enclave was booted ahead (attest, provision, LOAD), from a second, prewarmed start.
   */
  setup: { spawn: number; attest_provision: number; load_decrypt: number; session_create: number; ready_total: number; teardown: number; license_provision?: number; prewarmed?: number };
  /** onnxruntime intra-op threads of the enclave and both in-process baselines (absent for k = 0 and older reports). */
  ort_threads?: number;
  enclave_peak_rss_bytes: number;
  tail_weight_bytes: number;
  largest_activation_bytes: number;
  sealed_tail_bytes: number;
  /** Parameters (weight elements) in the enclave's part; 0 for k = 0 (absent in reports written before it was measured). */
  private_params?: number;
  /** Estimated FLOPs of the enclave's part for one sample (Conv, Gemm, MatMul, pooling). */
  private_flops?: number;
  max_abs_diff: number;
  labels_equal: boolean;
  /** t_native / t_tail_public. */
  cpu_impact: number;
  /** t_enclave / t_native. */
  tee_impact: number;
  /** (t_head + t_enclave) / t_full. */
  end_to_end: number;
}

/** A target from DESIGN.md, evaluated on the run: met or missed, and by how much. */
export interface TargetCheck {
  name: string;
  /** The bound as text, e.g. '≤ 1.05 + 40 µs / t_native'. */
  bound: string;
  /** Per split k: the measured value and the bound it was held to. */
  rows: { k: number; value: number; limit: number; met: boolean }[];
  met: boolean;
}

/** A whole `enclave-nn bench` run. */
export interface BenchReport {
  model: string;
  command: string;
  startedAt: string;
  durationMs: number;
  machine: {
    cpus: string; cores: number; memoryBytes: number; platform: string; node: string;
    /** 1-, 5- and 15-minute load averages when the run started and when it ended (a loaded machine skews every figure). */
    loadAverage?: { start: number[]; end: number[] };
  };
  /**
   * The TEE platform the enclaves ran on, and what it protects: `sim` is INSECURE (a plain
   * process; it protects nothing), `gramine-sgx` is an SGX enclave.
   */
  tee?: { platform: string; insecure: boolean; label: string };
  versions: Record<string, string>;
  options: {
    batch: number; repeat: number; warmup: number; engine: string; splits: number[];
    /** 'steady': back-to-back streams per split (absent: the older interleaved round-robin) */
    method?: 'steady';
    /** cold calls per split */
    cold?: number;
    /** batch sizes of the throughput sweep */
    throughputBatches?: number[];
  };
  layers: string[];
  t_full: Stat;
  splits: SplitMeasurement[];
  targets: TargetCheck[];
}
