/**
 * onnxruntime intra-op threads by the work of one call (issue 14, item 1): below the crossover a
 * second thread costs more (waking it, splitting the work, joining) than it saves, so a small
 * tail runs on the calling thread alone; above it, one thread per core.
 * @module
 */
import { availableParallelism } from 'node:os';

/**
 * FLOPs per call (per-sample estimate × batch, as `enclave-nn inspect` counts them) from which
 * onnxruntime-node 1.30 runs faster with one intra-op thread per core than with one thread.
 * Measured by bench/ort-threads.ts (docs/results/ort-threads.md, 2 cores): a second thread costs
 * 1.4–1.8× up to 2.4 M FLOPs, ties at 4–9 M (1.02–1.04×), wins from 17 M on (0.40–0.71×); the
 * crossover sits between the last tie and the first win. `bench` uses it for the enclave and its
 * baselines alike; `--ort-threads` overrides it.
 */
export const ORT_THREADS_CROSSOVER_FLOPS = 10_000_000;

/** The most intra-op threads an enclave may be given (host, trusted program, CLI and bench check the same range, 1..MAX_ORT_THREADS). */
export const MAX_ORT_THREADS = 999;

/** True for an intra-op thread count an enclave accepts: an integer in 1..{@link MAX_ORT_THREADS}. */
export function isOrtThreadCount(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= MAX_ORT_THREADS;
}

/** Input of {@link chooseIntraOpThreads}. */
export interface ThreadChoice {
  /** Estimated FLOPs of one sample through the tail. */
  flops: number;
  /** Samples per call. @defaultValue 1 */
  batch?: number;
  /** Cores to use above the crossover. @defaultValue os.availableParallelism() */
  cores?: number;
}

/**
 * Intra-op threads for a tail: 1 below {@link ORT_THREADS_CROSSOVER_FLOPS} FLOPs per call, else
 * one per core. An explicit `--ort-threads` overrides it.
 *
 * @example
 * ```ts
 * chooseIntraOpThreads({ flops: 120_000 });            // 1
 * chooseIntraOpThreads({ flops: 3e8, cores: 2 });      // 2
 * ```
 */
export function chooseIntraOpThreads({ flops, batch = 1, cores = availableParallelism() }: ThreadChoice): number {
  if (!Number.isFinite(flops) || flops < 0) throw new RangeError(`Cannot choose onnxruntime threads: FLOPs must be a finite number ≥ 0, got ${flops}`);
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`Cannot choose onnxruntime threads: batch must be an integer ≥ 1, got ${batch}`);
  if (!Number.isInteger(cores) || cores < 1) throw new RangeError(`Cannot choose onnxruntime threads: cores must be an integer ≥ 1, got ${cores}`);
  return flops * batch < ORT_THREADS_CROSSOVER_FLOPS ? 1 : cores;
}
