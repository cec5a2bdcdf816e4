/**
 * The session: the library's face (DESIGN.md, src/runtime). The public head runs in this
 * process on onnxruntime-node; the cut tensors go through the enclave, which runs the sealed
 * tail. One enclave per session, started once; restarted after a crash from its sealed state.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { readBundle } from '../bundle/read.ts';
import type { Bundle } from '../bundle/types.ts';
import { EnclaveProcess, type EnclaveStartOptions } from '../enclave/host.ts';
import { EnclavePool, type EnclavePoolOptions } from '../enclave/pool.ts';
import { EnclaveNnError, isErrorCode } from '../errors.ts';
import { fromOrtResults, ORT_SESSION_OPTIONS, toOrtFeeds, type TensorData } from '../onnx/ort.ts';
import { formatShape, type TensorSpec } from '../onnx/tensor-spec.ts';
import { gramineLauncher, platformForPolicy } from '../platform/gramine-launcher.ts';
import { MAX_FRAME_SIZE } from '../enclave-protocol/frame.ts';
import { insecureDevKeyProvider } from './insecure-dev-key.ts';
import { bytesPerRow, concatRows, sliceRows, specBytesPerRow, splittableRows } from './rows.ts';
import type { KeyProvider, KeySource } from '../enclave/key-provider.ts';

/** Bytes of a FORWARD frame kept for the message's own fields (tensor names, dtypes, dims) beside the data. */
const FRAME_RESERVE = 64 * 1024;

/** Options of {@link Session.create}. */
export interface SessionOptions {
  /** The `.enn` bundle: a path, its bytes, or a bundle already read. */
  bundle: string | Uint8Array | Bundle;
  /** Where the model key comes from. */
  keySource: KeySource;
  /** The engine inside the enclave. @defaultValue `'ort'` */
  engine?: string;
  /** The TEE platform. @defaultValue `'sim'` */
  platform?: string;
  /** More enclave options (timeouts, stderr, traffic tap). */
  enclave?: Omit<EnclaveStartOptions, 'engine' | 'platform'>;
  /**
   * Use this running enclave instead of starting one: benchmarks and tests over many splits
   * share one process across bundles. The session re-provisions it for its bundle and leaves
   * it running on `close()`; after a crash the session starts its own.
   * @defaultValue a new enclave per session
   */
  enclaveProcess?: EnclaveProcess;
  /**
   * Take the enclave from this pool of pre-spawned ones ({@link Session.prewarm}) when it runs
   * the bundle's platform and this engine (else the session starts its own); restarts after a
   * crash take from it while it is open. The session closes the enclaves it took; the pool's owner closes it.
   * @defaultValue none: the session spawns its enclave while it loads the head
   */
  pool?: EnclavePool;
  /**
   * Send NaN and ±Inf input values to the model. By default a float input holding one is
   * refused (`INPUT`, naming the tensor and the first bad index) before anything runs: such a
   * value is nearly always a bug upstream, and the tail's answer to it is not meaningful.
   * @defaultValue false
   */
  allowNonfinite?: boolean;
}

/** Phases of the last enclave start, in ms from spawn. */
export interface StartupTimings {
  spawnMs: number;
  helloMs: number;
  provisionedMs: number;
  decryptedMs: number;
  readyMs: number;
  /** How the key got in: `'provisioned'` or `'unsealed'`. */
  via: 'provisioned' | 'unsealed';
}

/** One run's outputs and timing. */
export interface RunResult {
  outputs: Record<string, TensorData>;
  /** Enclave round trip and the enclave-side compute time (ns). */
  enclave: { roundTripNs: bigint; computeNs: bigint };
}

/**
 * A split model ready to run: head here, tail in an enclave.
 *
 * @example
 * ```ts
 * const s = await Session.create({ bundle: 'model.enn', keySource: { kind: 'insecure-dev-key', providerKey: 'model.enn.key' } });
 * const { probs } = await s.run({ image: { dtype: 'float32', dims: [1, 1, 28, 28], data } });
 * await s.close();
 * ```
 */
export class Session {
  /** The bundle (public header, head, sealed tail). */
  readonly bundle: Bundle;
  readonly #head: ort.InferenceSession | null;
  readonly #keys: KeyProvider;
  readonly #start: EnclaveStartOptions;
  readonly #shared: EnclaveProcess | undefined;
  readonly #pool: EnclavePool | undefined;
  /** The first enclave, spawned while the head loads; taken by the first start. */
  #early: Promise<EnclaveProcess> | undefined;
  #enclave: EnclaveProcess | undefined;
  #starting: Promise<EnclaveProcess> | undefined;
  #sealed: Uint8Array | undefined;
  /** The enclave enforces a license: its sealed blob must follow the counters (see runTimed). */
  #metered = false;
  readonly #allowNonfinite: boolean;
  #closed = false;
  /** Phases of the last enclave start. */
  startup: StartupTimings | undefined;
  /** How many times the enclave was (re)started. */
  starts = 0;

  private constructor(bundle: Bundle, head: ort.InferenceSession | null, keys: KeyProvider, start: EnclaveStartOptions, shared: EnclaveProcess | undefined, allowNonfinite: boolean, pool: EnclavePool | undefined) {
    this.bundle = bundle;
    this.#pool = pool; // create() passes it only when it fits `start`
    this.#allowNonfinite = allowNonfinite;
    this.#shared = shared;
    this.#head = head;
    this.#keys = keys;
    this.#start = start;
  }

  /** Reads the bundle, loads the head, starts and provisions the enclave, loads the tail. */
  static async create(options: SessionOptions): Promise<Session> {
    const bundle = typeof options.bundle === 'string'
      ? readBundle(new Uint8Array(readFileSync(options.bundle)), { path: options.bundle })
      : options.bundle instanceof Uint8Array ? readBundle(options.bundle) : options.bundle;
    const keys = 'provision' in options.keySource ? options.keySource : insecureDevKeyProvider(options.keySource.providerKey);
    const start = startOptions(bundle, options);
    const pool = options.pool?.fits(start) ? options.pool : undefined;
    // The enclave boots (and loads its engine) while the head loads here: the two overlap.
    const early = options.enclaveProcess?.alive ? undefined : pool ? pool.take() : EnclaveProcess.prewarm(start);
    early?.catch(() => undefined); // awaited by the first start (or closed below)
    let head: ort.InferenceSession | null;
    try {
      head = bundle.head.byteLength > 0 ? await ort.InferenceSession.create(bundle.head, ORT_SESSION_OPTIONS) : null;
    } catch (e) {
      await early?.then((x) => x.close(), () => undefined);
      throw e;
    }
    const s = new Session(bundle, head, keys, start, options.enclaveProcess, options.allowNonfinite ?? false, pool);
    s.#early = early;
    try {
      await s.#ensureEnclave();
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  /**
   * Pre-spawns enclaves before any bundle is at hand: each boots, says HELLO and loads its engine
   * in the background, so that what a later {@link Session.create} with `{ pool }` waits for is
   * attestation, provisioning and LOAD. Close the pool when done (it stops the enclaves never
   * taken; they also exit when this process does).
   *
   * @param options the enclaves' platform (default `'sim'`; a bundle for another platform starts
   *   its own), engine, pool size (default 1), refill (servers) and start options
   * @example
   * ```ts
   * const pool = Session.prewarm({ platform: 'sim' });
   * const bundle = await readBundleFile('model.enn');          // overlaps the enclave's boot
   * const s = await Session.create({ bundle, keySource, pool });
   * // …
   * await s.close();
   * await pool.close();
   * ```
   */
  static prewarm(options: EnclavePoolOptions = {}): EnclavePool {
    return new EnclavePool(options);
  }

  /**
   * As {@link Session.prewarm}, for enclaves that sessions on `bundle` with these options will
   * take (same platform, launcher and engine): `enclave-nn run` and `serve` start them while
   * they check inputs, ask for keys and load heads.
   */
  static prewarmFor(bundle: Bundle, options: Pick<SessionOptions, 'engine' | 'platform' | 'enclave'> = {}, size = 1): EnclavePool {
    return new EnclavePool({ ...startOptions(bundle, options), size });
  }

  /** The model's inputs (names, dtypes, shapes). */
  get inputs(): TensorSpec[] { return this.bundle.header.headInputs; }

  /** The model's outputs computed in the enclave. */
  get outputs(): TensorSpec[] { return this.bundle.header.outputs; }

  /**
   * Runs the model on `feeds` (batch ≥ 1): the head here, the tail in the enclave. If the
   * enclave died, rejects with `ENCLAVE_DIED`; the next call starts a new one.
   */
  async run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
    return (await this.runTimed(feeds)).outputs;
  }

  /**
   * As {@link run}, with the enclave's round-trip and compute times (summed over frames).
   * A batch whose cut tensors (or outputs) would exceed the protocol's frame limit goes through
   * in several FORWARDs of {@link rowsPerFrame} rows each; the outputs are joined in order. Under
   * a license each FORWARD is counted on its own: if credits run out part-way, the rows already
   * answered are counted and the call rejects (`ENCLAVE_QUOTA`); callers that retry after a
   * top-up should send at most `rowsPerFrame` rows per call, as `enclave-nn run` does.
   */
  async runTimed(feeds: Record<string, TensorData>): Promise<RunResult> {
    if (this.#closed) throw new EnclaveNnError('SESSION_CLOSED', 'Cannot run: the session is closed');
    checkFeeds(this.inputs, feeds, { allowNonfinite: this.#allowNonfinite });
    const rows = splittableRows(this.inputs, feeds);
    const per = rows !== undefined && rows > 1 ? await this.rowsPerFrame(feeds) : Infinity;
    if (rows === undefined || per >= rows) return this.#runFrame(feeds);
    const parts: Record<string, TensorData>[] = [];
    let roundTripNs = 0n;
    let computeNs = 0n;
    for (let start = 0; start < rows; start += per) {
      const r = await this.#runFrame(sliceRows(feeds, start, Math.min(per, rows - start)));
      parts.push(r.outputs);
      roundTripNs += r.enclave.roundTripNs;
      computeNs += r.enclave.computeNs;
    }
    return { outputs: concatRows(parts), enclave: { roundTripNs, computeNs } };
  }

  /**
   * How many rows of `feeds` fit in one FORWARD frame: the frame limit (64 MiB, enclave protocol
   * §2) over the larger of one row's cut tensors and one row's outputs. Sizes come from the
   * bundle header; a cut with dynamic inner dimensions is measured by running the head on the
   * first row. `Infinity` when the batch cannot be split (a fixed batch dimension). Throws
   * `SESSION_FRAME` when a single row does not fit.
   */
  async rowsPerFrame(feeds: Record<string, TensorData>): Promise<number> {
    if (splittableRows(this.inputs, feeds) === undefined) return Infinity;
    const limit = MAX_FRAME_SIZE - FRAME_RESERVE;
    const cutRow = specBytesPerRow(this.bundle.header.inputs) ?? bytesPerRow(Object.values((await this.#cutOf(sliceRows(feeds, 0, 1))).cut));
    const row = Math.max(cutRow, specBytesPerRow(this.outputs) ?? 0, 1);
    if (row > limit) throw new EnclaveNnError('SESSION_FRAME', `Cannot run: one row of the cut is ${row} bytes, over the enclave protocol's ${limit}-byte FORWARD budget`);
    return Math.floor(limit / row);
  }

  async #cutOf(feeds: Record<string, TensorData>): Promise<{ headOut: Record<string, TensorData>; cut: Record<string, TensorData> }> {
    const headOut = this.#head ? fromOrtResults(await this.#head.run(toOrtFeeds(pick(feeds, this.#head.inputNames)))) : {};
    const cut: Record<string, TensorData> = {};
    for (const t of this.bundle.header.inputs) {
      const v = headOut[t.name] ?? feeds[t.name];
      if (!v) throw new EnclaveNnError('SESSION_CUT', `Cannot run: cut tensor '${t.name}' comes neither from the head nor from the inputs`, { exitCode: 1 });
      cut[t.name] = v;
    }
    return { headOut, cut };
  }

  async #runFrame(feeds: Record<string, TensorData>): Promise<RunResult> {
    const { headOut, cut } = await this.#cutOf(feeds);
    const enclave = await this.#ensureEnclave();
    let r;
    try {
      r = await enclave.forward(cut);
    } catch (e) {
      if (!enclave.alive) this.#enclave = undefined; // the next call restarts it
      throw e;
    }
    const outputs: Record<string, TensorData> = {};
    const cutNames = new Set(this.bundle.header.inputs.map((t) => t.name));
    for (const [k, v] of Object.entries(headOut)) if (!cutNames.has(k)) outputs[k] = v; // model outputs made before the cut
    Object.assign(outputs, r.outputs);
    if (this.#metered) {
      // Re-seal after each licensed run, in the background (the enclave answers in order, so the
      // blob holds this run's count): a restart after a crash then resumes from the current
      // counters, not from the first blob's. At most one run is lost if it dies before answering.
      enclave.seal().then((b) => { if (this.#enclave === enclave) this.#sealed = b; }, () => undefined);
    }
    return { outputs, enclave: { roundTripNs: r.roundTripNs, computeNs: r.computeNs } };
  }

  /** The enclave's STATUS (§4.6), or why there is none. */
  async status(): Promise<Record<string, unknown>> {
    const e = this.#enclave;
    if (!e || !e.alive) return { state: 'not running', starts: this.starts };
    return { ...(await e.status()), starts: this.starts, pid: e.pid };
  }

  /** The running enclave (tests kill it; benchmarks read its timings). */
  get enclaveProcess(): EnclaveProcess | undefined { return this.#enclave; }

  /** Closes the enclave (it zeroes its secrets) and the head. */
  async close(): Promise<void> {
    this.#closed = true;
    const early = this.#early;
    this.#early = undefined;
    if (early) await early.then((x) => x.close(), () => undefined);
    const e = this.#enclave ?? (this.#starting ? await this.#starting.catch(() => undefined) : undefined);
    this.#enclave = undefined;
    if (e !== this.#shared) await e?.close();
    await this.#head?.release();
    this.#sealed = undefined;
  }

  #ensureEnclave(): Promise<EnclaveProcess> {
    if (this.#enclave?.alive) return Promise.resolve(this.#enclave);
    this.#starting ??= this.#startEnclave().finally(() => { this.#starting = undefined; });
    return this.#starting;
  }

  async #startEnclave(): Promise<EnclaveProcess> {
    const t0 = performance.now();
    const shared = this.starts === 0 && this.#shared?.alive ? this.#shared : undefined;
    const early = this.#early;
    this.#early = undefined;
    const e = shared ?? await (early ?? (this.#pool && !this.#pool.closed ? this.#pool.take() : EnclaveProcess.start(this.#start)));
    try {
      let via: StartupTimings['via'] = 'provisioned';
      // Offline restart: the sealed blob (opaque to us) re-provisions without the key holder.
      if (this.#sealed) {
        try {
          await e.unseal(this.#sealed);
          via = 'unsealed';
        } catch (err) {
          if (!isErrorCode(err, 'ENCLAVE_SEAL')) throw err;
          this.#sealed = undefined;
        }
      }
      if (via === 'provisioned') {
        try {
          await this.#keys.provision(e, this.bundle);
        } catch (cause) {
          if (this.starts === 0) throw cause;
          throw new EnclaveNnError('ENCLAVE_RESTART', `Cannot restart the enclave: its sealed state is unusable and ${this.#keys.name} could not provision it (${(cause as Error).message})`, { cause, exitCode: 1 });
        }
        this.#sealed = await e.seal();
      }
      const provisionedMs = performance.now() - t0;
      const { decryptedAt } = await e.load(this.bundle.headerBytes, this.bundle.signature, this.bundle.sealedTail.chunks);
      this.startup = { spawnMs: e.timings.spawnMs, helloMs: e.timings.helloMs, provisionedMs, decryptedMs: decryptedAt - t0, readyMs: performance.now() - t0, via };
      this.#metered = (await e.status()).licensePresent === true;
      this.starts++;
      this.#enclave = e;
      return e;
    } catch (err) {
      if (e !== shared) await e.close();
      throw err;
    }
  }
}

/** How sessions on `bundle` start their enclave: the platform its policy names (on gramine-sgx under gramine-sgx). */
function startOptions(bundle: Bundle, options: Pick<SessionOptions, 'engine' | 'platform' | 'enclave'>): EnclaveStartOptions {
  const platform = options.platform ?? platformForPolicy(bundle.header.policy.platforms.map((p) => p.kind));
  const launcher = options.enclave?.launcher ?? (platform === 'gramine-sgx' ? gramineLauncher() : undefined);
  return { ...options.enclave, engine: options.engine, platform, launcher };
}

function pick(feeds: Record<string, TensorData>, names: readonly string[]): Record<string, TensorData> {
  return Object.fromEntries(names.filter((n) => n in feeds).map((n) => [n, feeds[n]!]));
}

/**
 * Checks feeds against the model's inputs: names, dtypes, ranks, fixed dimensions, and — unless
 * `allowNonfinite` — that no float value is NaN or ±Inf (exit 2 on mismatch). `firstRow`: the
 * row of the whole input where these feeds start (a chunk of it), for the index in messages.
 */
export function checkFeeds(specs: readonly TensorSpec[], feeds: Record<string, TensorData>, o: { allowNonfinite?: boolean; firstRow?: number } = {}): void {
  for (const n of Object.keys(feeds)) {
    if (!specs.some((s) => s.name === n)) throw new EnclaveNnError('INPUT', `Cannot run model: unknown input '${n}'; inputs: ${specs.map((s) => s.name).join(', ')}`);
  }
  for (const s of specs) {
    const t = feeds[s.name];
    if (!t) throw new EnclaveNnError('INPUT', `Cannot run model: input '${s.name}' ${s.dtype}${formatShape(s.shape)} is missing`);
    if (t.dtype !== s.dtype) throw new EnclaveNnError('INPUT', `Cannot run model: input '${s.name}' is ${t.dtype}, expected ${s.dtype}`);
    const ok = t.dims.length === s.shape.length && s.shape.every((d, i) => (typeof d === 'number' ? t.dims[i] === d : t.dims[i]! >= 1));
    if (!ok) throw new EnclaveNnError('INPUT', `Cannot run model: input '${s.name}' has shape ${formatShape(t.dims)}, expected ${formatShape(s.shape)}`);
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) throw new EnclaveNnError('INPUT', `Cannot run model: input '${s.name}' has ${t.data.length} values, its shape ${formatShape(t.dims)} needs ${n}`);
    if (!o.allowNonfinite) {
      const bad = firstNonfinite(t);
      if (bad) {
        const at = unravel(bad.index, t.dims);
        if (at.length > 0) at[0]! += o.firstRow ?? 0;
        throw new EnclaveNnError('INPUT', `Cannot run model: input '${s.name}' has ${bad.value} at index [${at.join(',')}]; fix the input, or pass --allow-nonfinite (Session option allowNonfinite) to send NaN and Inf values`);
      }
    }
  }
}

/** The first NaN or ±Inf of a float tensor (float16/bfloat16 by their exponent bits), if any. */
function firstNonfinite(t: TensorData): { index: number; value: string } | undefined {
  const name = (v: number): string => (Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity');
  if (t.dtype === 'float32' || t.dtype === 'float64') {
    const d = t.data as Float32Array | Float64Array;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return { index: i, value: name(d[i]!) };
  } else if (t.dtype === 'float16' || t.dtype === 'bfloat16') {
    // Exponent all ones: Inf when the mantissa is zero, NaN otherwise (IEEE 754 binary16; bfloat16 is float32's top half).
    const [exp, mant] = t.dtype === 'float16' ? [0x7c00, 0x03ff] : [0x7f80, 0x007f];
    const d = t.data as Uint16Array;
    for (let i = 0; i < d.length; i++) {
      const b = d[i]!;
      if ((b & exp) === exp) return { index: i, value: (b & mant) !== 0 ? 'NaN' : b & 0x8000 ? '-Infinity' : 'Infinity' };
    }
  }
  return undefined;
}

function unravel(flat: number, dims: readonly number[]): number[] {
  const out = new Array<number>(dims.length);
  for (let i = dims.length - 1; i >= 0; i--) { out[i] = flat % dims[i]!; flat = Math.floor(flat / dims[i]!); }
  return out;
}
