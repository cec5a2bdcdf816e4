/**
 * Pre-spawned enclaves (issue 14, item 3): an enclave process boots Node, answers HELLO and
 * loads its engine before any bundle is known, so that this work overlaps the host's own
 * (reading inputs, loading the head, asking a license server). What is left for the user to wait
 * for is attestation, provisioning and LOAD.
 */
import { EnclaveProcess, type EnclaveStartOptions } from './host.ts';

/** Options of {@link EnclavePool}. */
export interface EnclavePoolOptions extends EnclaveStartOptions {
  /** Enclaves kept warm. @defaultValue 1 */
  size?: number;
  /** Start a replacement when one is taken (servers); off for one-shot commands. @defaultValue false */
  refill?: boolean;
}

/**
 * A few warm enclaves of one platform and engine. {@link take} hands one out (waiting for its
 * boot when it is not done yet); {@link close} stops the ones never taken, so a pool that is not
 * used leaves no process behind. (An enclave also exits by itself when this process dies: it sees
 * the end of its input.)
 *
 * @example
 * ```ts
 * const pool = new EnclavePool({ platform: 'sim', engine: 'ort' });   // boots now
 * // … read inputs, load the head …
 * const session = await Session.create({ bundle, keySource, pool });
 * await session.close();
 * await pool.close();
 * ```
 */
export class EnclavePool {
  readonly #options: EnclaveStartOptions;
  readonly #refill: boolean;
  readonly #warm: Promise<EnclaveProcess>[] = [];
  #closed = false;

  constructor(options: EnclavePoolOptions = {}) {
    const { size = 1, refill = false, ...start } = options;
    if (!Number.isInteger(size) || size < 1 || size > 16) throw new RangeError(`Cannot make an enclave pool: size must be an integer in 1..16, got ${size}`);
    this.#options = start;
    this.#refill = refill;
    for (let i = 0; i < size; i++) this.#spawn();
  }

  /** True after {@link close}. */
  get closed(): boolean { return this.#closed; }

  /** The platform its enclaves run. */
  get platform(): string { return this.#options.platform ?? 'sim'; }

  /** The engine its enclaves load. */
  get engine(): string { return this.#options.engine ?? 'ort'; }

  /** True when `options` would start the same kind of enclave as this pool's. */
  fits(options: EnclaveStartOptions): boolean {
    return (options.platform ?? 'sim') === this.platform && (options.engine ?? 'ort') === this.engine
      // Launchers are functions made per call (gramineLauncher()): the platform names the kind.
      && options.ortThreads === this.#options.ortThreads && (options.launcher === undefined) === (this.#options.launcher === undefined);
  }

  /**
   * A warm enclave, yours to close. Resolves when it has booted and loaded its engine; a pool
   * that is empty (or whose enclave died meanwhile) starts one.
   */
  async take(): Promise<EnclaveProcess> {
    if (this.#closed) throw new Error('Cannot take an enclave: the pool is closed');
    const next = this.#warm.shift();
    if (this.#refill) this.#spawn();
    const e = next ? await next.catch(() => undefined) : undefined;
    return e?.alive ? e : EnclaveProcess.prewarm(this.#options);
  }

  /** Stops every enclave not taken; waits for their exit. */
  async close(): Promise<void> {
    this.#closed = true;
    const left = this.#warm.splice(0);
    await Promise.all(left.map((p) => p.then((e) => e.close(), () => undefined)));
  }

  #spawn(): void {
    const p = EnclaveProcess.prewarm(this.#options);
    p.catch(() => undefined); // a failed boot is reported by take(), which starts another
    this.#warm.push(p);
  }
}
