/**
 * Dynamic batching (docs/serve.md §5): requests from many clients wait in one queue; an idle
 * worker (one session: head + enclave) takes the oldest requests, up to `maxBatch` samples,
 * as soon as the batch is full or the oldest request has waited `maxWaitMs`, concatenates
 * them along the first dimension into one FORWARD and splits the outputs back.
 *
 * Metering stays exact: the enclave counts the samples of each FORWARD it answers, and every
 * request is answered by exactly one FORWARD. When a batch is refused for want of credits (the
 * enclave admits a FORWARD whole or not at all, and a refused one costs nothing), its requests
 * are run one by one, so those that still fit are answered; a request refused alone goes back
 * to the queue for the other enclaves of the pool (each has its own allowance) and is refused
 * only when all have refused it. A request that times out while queued is removed before any
 * worker sees it: it costs nothing.
 */
import { EnclaveNnError, isErrorCode } from '../errors.ts';
import type { TensorData } from '../onnx/ort.ts';

/** One worker's way to run feeds (a session, with the license's check-in around it). */
export interface BatchRunner {
  run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>>;
}

/** Options of {@link Batcher}. */
export interface BatcherOptions {
  /** Most samples in one FORWARD; a larger single request runs alone. @defaultValue 32 */
  maxBatch?: number;
  /** Longest a request waits for others to fill its batch (ms). @defaultValue 2 */
  maxWaitMs?: number;
  /**
   * Whether requests may share a FORWARD: true when every input and output has a variable first
   * (batch) dimension. @defaultValue true
   */
  concat?: boolean;
  /** Longest a request waits in the queue before it is refused, unrun (ms). @defaultValue 30000 */
  queueTimeoutMs?: number;
  /** Most requests waiting; more are refused at once. @defaultValue 1024 */
  maxQueue?: number;
}

interface Job {
  feeds: Record<string, TensorData>;
  samples: number;
  at: number;
  resolve: (o: Record<string, TensorData>) => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout;
  /** Workers whose enclave refused this request for want of credits; another may still have some. */
  refusedBy: Set<Worker>;
}

interface Worker {
  runner: BatchRunner;
  busy: boolean;
  chores: (() => Promise<void>)[];
}

/**
 * The queue and its workers.
 *
 * @example
 * ```ts
 * const b = new Batcher([session], { maxBatch: 16, maxWaitMs: 2 });
 * const outputs = await b.submit(feeds, 1);
 * ```
 */
export class Batcher {
  readonly #workers: Worker[];
  readonly #queue: Job[] = [];
  readonly #maxBatch: number;
  readonly #maxWaitMs: number;
  readonly #concat: boolean;
  readonly #queueTimeoutMs: number;
  readonly #maxQueue: number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Counts since start: FORWARD calls made, requests answered, samples answered. */
  readonly stats = { forwards: 0, requests: 0, samples: 0 };

  constructor(runners: readonly BatchRunner[], o: BatcherOptions = {}) {
    if (runners.length === 0) throw new RangeError('Batcher needs at least one runner');
    this.#workers = runners.map((runner) => ({ runner, busy: false, chores: [] }));
    this.#maxBatch = o.maxBatch ?? 32;
    this.#maxWaitMs = o.maxWaitMs ?? 2;
    this.#concat = o.concat ?? true;
    this.#queueTimeoutMs = o.queueTimeoutMs ?? 30_000;
    this.#maxQueue = o.maxQueue ?? 1024;
    if (!Number.isSafeInteger(this.#maxBatch) || this.#maxBatch < 1) throw new RangeError('maxBatch must be a positive integer');
    if (!(this.#maxWaitMs >= 0)) throw new RangeError('maxWaitMs must be ≥ 0');
  }

  /** Queues checked feeds of `samples` samples; resolves to their outputs. */
  submit(feeds: Record<string, TensorData>, samples: number): Promise<Record<string, TensorData>> {
    if (this.#closed) return Promise.reject(new EnclaveNnError('SERVE_UNAVAILABLE', 'Cannot run inference: the server is shutting down'));
    if (this.#queue.length >= this.#maxQueue) return Promise.reject(new EnclaveNnError('SERVE_UNAVAILABLE', `Cannot run inference: ${this.#queue.length} requests are already waiting`));
    return new Promise((resolve, reject) => {
      const job: Job = {
        feeds, samples, at: performance.now(), refusedBy: new Set(),
        resolve: (o) => { clearTimeout(job.timer); resolve(o); },
        reject: (e) => { clearTimeout(job.timer); reject(e); },
        // Still queued after the timeout: refused unrun, so it costs nothing.
        timer: setTimeout(() => {
          const i = this.#queue.indexOf(job);
          if (i < 0) return;
          this.#queue.splice(i, 1);
          reject(new EnclaveNnError('SERVE_TIMEOUT', `Cannot run inference: the request waited ${this.#queueTimeoutMs} ms in the queue without a free enclave`));
        }, this.#queueTimeoutMs),
      };
      this.#queue.push(job);
      this.#pump();
    });
  }

  /** Runs `chore` on worker `index` when it is idle (check-ins, sealing), never beside a FORWARD of its own. */
  chore(index: number, chore: () => Promise<void>): Promise<void> {
    const w = this.#workers[index];
    if (!w) return Promise.reject(new RangeError(`no worker ${index}`));
    return new Promise((resolve, reject) => {
      w.chores.push(() => chore().then(resolve, reject));
      this.#pump();
    });
  }

  /** How many workers there are. */
  get size(): number { return this.#workers.length; }

  /** Refuses queued requests; running batches finish. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const j of this.#queue.splice(0)) {
      clearTimeout(j.timer);
      j.reject(new EnclaveNnError('SERVE_UNAVAILABLE', 'Cannot run inference: the server is shutting down'));
    }
  }

  #pump(): void {
    for (const w of this.#workers) {
      if (w.busy) continue;
      const chore = w.chores.shift();
      if (chore) { this.#occupy(w, chore()); continue; }
      if (this.#queue.length === 0) continue; // a later worker may still have a chore
      const jobs = this.#take(w);
      if (jobs && jobs !== 'wait') this.#occupy(w, this.#runJobs(w, jobs));
    }
  }

  #occupy(w: Worker, work: Promise<void>): void {
    w.busy = true;
    void work.finally(() => { w.busy = false; this.#pump(); });
  }

  /**
   * The next batch for `w`: the oldest requests it has not refused, in arrival order; `'wait'`
   * (and a timer) while the batch may still grow; undefined when every queued request was refused by `w`.
   */
  #take(w: Worker): Job[] | 'wait' | undefined {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const q = this.#queue;
    if (this.#concat && this.#maxBatch > 1 && !this.#closed) {
      const queued = q.reduce((a, j) => a + j.samples, 0);
      const waited = performance.now() - q[0]!.at;
      if (queued < this.#maxBatch && waited < this.#maxWaitMs) {
        this.#timer = setTimeout(() => this.#pump(), Math.max(0, this.#maxWaitMs - waited));
        return 'wait';
      }
    }
    const first = q.findIndex((j) => !j.refusedBy.has(w));
    if (first < 0) return undefined;
    const jobs = q.splice(first, 1);
    let samples = jobs[0]!.samples;
    for (let i = first; this.#concat && i < q.length;) {
      const j = q[i]!;
      if (j.refusedBy.has(w)) { i++; continue; }
      if (samples + j.samples > this.#maxBatch) break;
      samples += j.samples;
      jobs.push(...q.splice(i, 1));
    }
    return jobs;
  }

  async #runJobs(w: Worker, jobs: Job[]): Promise<void> {
    let outputs: Record<string, TensorData>;
    try {
      outputs = await this.#forward(w.runner, concatFeeds(jobs.map((j) => j.feeds)));
    } catch (e) {
      if (isErrorCode(e, 'ENCLAVE_QUOTA')) {
        // Credits are admitted per FORWARD: one by one, the requests that still fit are answered.
        if (jobs.length > 1) {
          for (const j of jobs) await this.#runJobs(w, [j]);
          return;
        }
        // Each enclave has its own allowance: another one may still have credits for it.
        const j = jobs[0]!;
        j.refusedBy.add(w);
        if (j.refusedBy.size < this.#workers.length && !this.#closed) {
          this.#queue.unshift(j);
          return;
        }
      }
      for (const j of jobs) j.reject(e);
      return;
    }
    let parts: Record<string, TensorData>[];
    try {
      parts = splitOutputs(outputs, jobs.map((j) => j.samples));
    } catch (e) {
      for (const j of jobs) j.reject(e);
      return;
    }
    jobs.forEach((j, i) => { this.stats.requests++; this.stats.samples += j.samples; j.resolve(parts[i]!); });
  }

  async #forward(runner: BatchRunner, feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
    this.stats.forwards++;
    return runner.run(feeds);
  }
}

/** Concatenates feeds along the first dimension (row-major: the flat data follow each other). */
export function concatFeeds(list: readonly Record<string, TensorData>[]): Record<string, TensorData> {
  if (list.length === 1) return list[0]!;
  const out: Record<string, TensorData> = {};
  for (const name of Object.keys(list[0]!)) {
    const ts = list.map((f) => f[name]!);
    const n = ts.reduce((a, t) => a + t.data.length, 0);
    const data = new (ts[0]!.data.constructor as new (n: number) => TensorData['data'])(n);
    let at = 0;
    for (const t of ts) { (data as Float32Array).set(t.data as Float32Array, at); at += t.data.length; }
    out[name] = { dtype: ts[0]!.dtype, dims: [ts.reduce((a, t) => a + t.dims[0]!, 0), ...ts[0]!.dims.slice(1)], data };
  }
  return out;
}

/** Splits batched outputs back into per-request outputs of `samples[i]` rows each. */
export function splitOutputs(outputs: Record<string, TensorData>, samples: readonly number[]): Record<string, TensorData>[] {
  if (samples.length === 1) return [outputs];
  const total = samples.reduce((a, b) => a + b, 0);
  const parts: Record<string, TensorData>[] = samples.map(() => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    if (t.dims[0] !== total) throw new EnclaveNnError('SERVE_BATCH', `Cannot split batched output '${name}': its first dimension is ${t.dims[0]}, the batch has ${total} samples`, { exitCode: 1 });
    const row = t.data.length / total;
    let at = 0;
    samples.forEach((s, i) => {
      parts[i]![name] = { dtype: t.dtype, dims: [s, ...t.dims.slice(1)], data: t.data.slice(at * row, (at + s) * row) };
      at += s;
    });
  }
  return parts;
}
