/**
 * The host side of the enclave protocol (docs/enclave-protocol.md): spawns the trusted program,
 * handshakes, and calls it with request ids and timeouts. Untrusted code: it only ever holds
 * ciphertext, public header bytes, cut tensors and outputs.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { EnclaveNnError } from '../errors.ts';
import type { TensorData } from '../onnx/ort.ts';
import { announceSimPlatform } from '../platform/sim.ts';
import { DEFAULT_ENGINE, getEngine } from './engines/index.ts';
import { platformNames } from '../platform/registry.ts';
import type { Launcher } from '../platform/types.ts';
import {
  FrameReader, MSG, OK, PROTOCOL_VERSION, PayloadReader, ProtocolError, decodeAttestOk, decodeBytes, decodeEmpty, decodeError,
  decodeForwardOk, decodeHelloOk, decodeStr, decodeU32, decodeU8, encodeAttest, encodeBytes, encodeForward, encodeFrame, encodeHello,
  encodeLoadBegin, encodeLoadChunk, encodeProvision, type AttestOk, type Frame, type HelloOk,
} from '../enclave-protocol/index.ts';
import { ForwardFrameEncoder } from '../enclave-protocol/forward-frame.ts';
import { isOrtThreadCount, MAX_ORT_THREADS } from './engines/threads.ts';
import { trustedProgramPath, type ProgramPlatform } from './trusted-program.ts';

/** Options of {@link EnclaveProcess.start}. */
export interface EnclaveStartOptions {
  /** The TEE platform. @defaultValue `'sim'` */
  platform?: string;
  /** The engine inside the enclave. @defaultValue `'ort'` */
  engine?: string;
  /** Per-call timeout in ms (a timed-out enclave is killed: its state is unknown). @defaultValue 120000 */
  timeoutMs?: number;
  /** Where the enclave's stderr goes. @defaultValue the host's stderr, minus repeated INSECURE lines */
  onStderr?: (bytes: Uint8Array) => void;
  /** Sees every byte on the pipes (`'out'` = host → enclave). For audits and the leak test. */
  onTraffic?: (direction: 'in' | 'out', bytes: Uint8Array) => void;
  /**
   * After writing a FORWARD, read the pipe without blocking for up to this many ms before
   * waiting in the event loop (docs/enclave-protocol.md §1 "Serving loop"): a short answer is
   * then taken as soon as it is written, without an event-loop wake-up. The host's thread spins
   * meanwhile, so it is off where that would take a core the enclave computes on: on a single
   * core, and wherever the enclave's intra-op threads (`ortThreads`; unset = onnxruntime's own,
   * one per core) reach the number of cores.
   * @defaultValue 1 when `ortThreads` < `os.availableParallelism()`, else 0
   */
  pollMs?: number;
  /**
   * onnxruntime intra-op threads inside the enclave (`--ort-threads`, see
   * `chooseIntraOpThreads` in engines/threads.ts); the manifest fixes them under Gramine. @defaultValue onnxruntime's own
   */
  ortThreads?: number;
  /** Send HELLO at start (protocol tests turn it off to send their own). @defaultValue true */
  hello?: boolean;
  /**
   * How to launch the trusted program: gets the bundled program's path and its arguments,
   * returns the command to spawn (e.g. `gramine-sgx enclave-nn …` for the SGX platform).
   * @defaultValue `node <program> <args>` with this process's Node
   */
  launcher?: Launcher;
}

/** Timings of a start, in ms. */
export interface StartTimings {
  /** spawn() until the OS process exists. */
  spawnMs: number;
  /** spawn() until HELLO_OK: the enclave is up and talking. */
  helloMs: number;
}

/** A FORWARD result. */
export interface ForwardResult {
  outputs: Record<string, TensorData>;
  /** What the engine took inside the enclave (§4.5). */
  computeNs: bigint;
  /** Host-side round trip: encode, pipe, enclave, pipe, decode. */
  roundTripNs: bigint;
}

/**
 * What a key provider may do with an enclave (the hook for the license server and license
 * files): read its hello, attest, provision, unseal, or send a message of its own protocol.
 */
export interface EnclaveHandle {
  readonly hello: HelloOk;
  attest(nonce: Uint8Array): Promise<AttestOk>;
  provision(modelId: string, wrapped: Uint8Array): Promise<void>;
  unseal(blob: Uint8Array): Promise<string>;
  seal(): Promise<Uint8Array>;
  /** Sends any request (e.g. license messages 0x10–0x1F) and returns the OK frame. */
  call(type: number, payload: Uint8Array[], timeoutMs?: number): Promise<Frame>;
}

/** How the answers to FORWARD arrived (see {@link EnclaveStartOptions.pollMs}). */
export interface PollStats {
  /** Answers read while polling. */
  answered: number;
  /** Polls that ran out of time (the answer then came through the event loop). */
  fellBack: number;
}

/** Bytes read per poll: a pipe's buffer on Linux. */
const POLL_READ_SIZE = 64 * 1024;

interface Pending { type: number; resolve: (f: Frame) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }

const INSECURE_PREFIX = 'enclave-nn: INSECURE:';

/**
 * One running enclave process.
 *
 * @example
 * ```ts
 * const enclave = await EnclaveProcess.start({ platform: 'sim', engine: 'ort' });
 * const { publicKey, evidence } = await enclave.attest(nonce);
 * await enclave.provision(modelId, wrapToX25519(publicKey, payload, provisionTranscript({ modelId, nonce, evidence })));
 * await enclave.load(bundle.headerBytes, bundle.signature, bundle.sealedTail.chunks);
 * const { outputs } = await enclave.forward({ h2: cutTensor });
 * await enclave.close();
 * ```
 */
export class EnclaveProcess implements EnclaveHandle {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pending = new Map<number, Pending>();
  readonly #reader = new FrameReader();
  readonly #timeoutMs: number;
  readonly #onTraffic: EnclaveStartOptions['onTraffic'];
  #nextId = 1;
  #dead: Error | undefined;
  readonly #closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #hello: HelloOk | undefined;
  readonly #pollNs: bigint;
  #pollBuf: Uint8Array | undefined;
  /** FORWARD frames for the layout last sent (a session sends one layout over and over). */
  #forwardEncoder: ForwardFrameEncoder | undefined;
  /** Timings of the start. */
  timings: StartTimings = { spawnMs: NaN, helloMs: NaN };
  /** How FORWARD answers arrived. */
  readonly polls: PollStats = { answered: 0, fellBack: 0 };

  private constructor(child: ChildProcessWithoutNullStreams, options: EnclaveStartOptions, pollMs: number) {
    this.#child = child;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#onTraffic = options.onTraffic;
    this.#pollNs = BigInt(Math.round(pollMs * 1e6));
    child.stdout.on('data', (chunk: Buffer) => this.#onData(chunk));
    const onStderr = options.onStderr ?? stderrForwarder();
    child.stderr.on('data', (chunk: Buffer) => onStderr(chunk));
    // 'close' (not 'exit'): answers written just before the exit (BAD_FRAME, CLOSE_OK) are
    // read from the pipe first.
    this.#closed = new Promise((resolve) => child.on('close', (code, signal) => {
      this.#die(`it exited (${signal ? `signal ${signal}` : `status ${code}`})`);
      resolve({ code, signal });
    }));
    child.on('error', (e) => this.#die(`it could not be started (${e.message})`));
    child.stdin.on('error', () => undefined); // EPIPE after death: reported through 'exit'
  }

  /** Spawns the trusted program and completes HELLO (§3). */
  static async start(options: EnclaveStartOptions = {}): Promise<EnclaveProcess> {
    const platform = options.platform ?? 'sim';
    const engine = options.engine ?? DEFAULT_ENGINE;
    // Unknown names fail here, listing the known ones, rather than as a dead child process.
    getEngine(engine);
    if (!platformNames().includes(platform)) {
      throw new EnclaveNnError('PLATFORM_UNKNOWN', `Cannot start enclave: unknown platform '${platform}'; known: ${platformNames().join(', ')}`);
    }
    // One program per platform: each holds only its own platform's code (trusted-program.ts).
    const program = await trustedProgramPath(platform as ProgramPlatform);
    const env = enclaveEnvironment(process.env);
    const t0 = performance.now();
    const pollMs = pollMsOf(options.pollMs, options.ortThreads); // bad values fail before anything is spawned
    if (options.ortThreads !== undefined && !isOrtThreadCount(options.ortThreads)) {
      throw new RangeError(`Cannot start enclave: ortThreads must be an integer in 1..${MAX_ORT_THREADS}, got ${options.ortThreads}`);
    }
    const args = ['--platform', platform, '--engine', engine, ...(options.ortThreads === undefined ? [] : ['--ort-threads', String(options.ortThreads)])];
    const cmd = options.launcher ? options.launcher(program, args) : { file: process.execPath, args: [program, ...args] };
    const child = spawn(cmd.file, cmd.args, { stdio: ['pipe', 'pipe', 'pipe'], env, ...(cmd.cwd ? { cwd: cmd.cwd } : {}) });
    const p = new EnclaveProcess(child, options, pollMs);
    child.once('spawn', () => { p.timings.spawnMs = performance.now() - t0; });
    if (platform === 'sim') announceSimPlatform();
    if (options.hello === false) return p;
    const f = await p.#request(MSG.HELLO, encodeHello({ minVersion: PROTOCOL_VERSION, maxVersion: PROTOCOL_VERSION }));
    p.#hello = decodeHelloOk(new PayloadReader(f.body));
    p.timings.helloMs = performance.now() - t0;
    return p;
  }

  /**
   * Starts an enclave ahead of its bundle: spawn, boot, HELLO, and the engine loaded (the
   * enclave loads it right after HELLO; the STATUS answer comes after that). Provision and LOAD
   * it later; `startupMs` in its STATUS shows the phases.
   */
  static async prewarm(options: EnclaveStartOptions = {}): Promise<EnclaveProcess> {
    const e = await EnclaveProcess.start(options);
    try {
      await e.status();
    } catch (err) {
      await e.close();
      throw err;
    }
    return e;
  }

  /** What the enclave said in HELLO_OK (a claim, not evidence). */
  get hello(): HelloOk {
    if (!this.#hello) throw new Error('enclave has not said hello');
    return this.#hello;
  }

  /** The enclave's process id. */
  get pid(): number | undefined { return this.#child.pid; }

  /** False once the process has exited or a call timed out. */
  get alive(): boolean { return this.#dead === undefined; }

  /** ATTEST (§4.2). */
  async attest(nonce: Uint8Array): Promise<AttestOk> {
    return decodeAttestOk(new PayloadReader((await this.#request(MSG.ATTEST, encodeAttest(nonce))).body));
  }

  /** PROVISION (§4.3). */
  async provision(modelId: string, wrapped: Uint8Array): Promise<void> {
    decodeEmpty(new PayloadReader((await this.#request(MSG.PROVISION, encodeProvision({ modelId, wrapped }))).body));
  }

  /** SEAL (§4.7): an opaque blob sealed to the platform key. */
  async seal(): Promise<Uint8Array> {
    return decodeBytes(new PayloadReader((await this.#request(MSG.SEAL, [])).body));
  }

  /** UNSEAL (§4.7); resolves to the model id it holds. */
  async unseal(blob: Uint8Array): Promise<string> {
    return decodeStr(new PayloadReader((await this.#request(MSG.UNSEAL, encodeBytes(blob))).body));
  }

  /**
   * LOAD_BEGIN then every LOAD_CHUNK, pipelined (§4.4). Resolves when the engine session exists.
   * Returns the time at which the second-to-last chunk was acknowledged (decryption done, the
   * last chunk and the session creation remaining), for timing breakdowns.
   */
  async load(header: Uint8Array, signature: Uint8Array, chunks: Iterable<Uint8Array>): Promise<{ decryptedAt: number }> {
    decodeU32(new PayloadReader((await this.#request(MSG.LOAD_BEGIN, encodeLoadBegin({ header, signature }))).body));
    const list = [...chunks];
    let decryptedAt = performance.now();
    const acks = list.map((chunk, i) => this.#request(MSG.LOAD_CHUNK, encodeLoadChunk({ last: i === list.length - 1, chunk })).then((f) => {
      if (i === list.length - 2) decryptedAt = performance.now();
      return decodeU8(new PayloadReader(f.body));
    }));
    const ready = await Promise.all(acks);
    if (ready[ready.length - 1] !== 1) throw new ProtocolError('INTERNAL', 'Cannot load: the enclave did not report ready after the last chunk');
    return { decryptedAt };
  }

  /** FORWARD (§4.5). */
  async forward(feeds: Record<string, TensorData>): Promise<ForwardResult> {
    const t0 = process.hrtime.bigint();
    const f = await this.#request(MSG.FORWARD, [], this.#timeoutMs, true, (id) => this.#forwardFrame(feeds, id));
    const { computeNs, outputs } = decodeForwardOk(new PayloadReader(f.body));
    return { outputs, computeNs, roundTripNs: process.hrtime.bigint() - t0 };
  }

  /** STATUS (§4.6). */
  async status(): Promise<Record<string, unknown>> {
    return JSON.parse(decodeStr(new PayloadReader((await this.#request(MSG.STATUS, [])).body))) as Record<string, unknown>;
  }

  /** Any request; resolves to the OK frame (for protocols layered on this one). */
  call(type: number, payload: Uint8Array[], timeoutMs?: number): Promise<Frame> {
    return this.#request(type, payload, timeoutMs);
  }

  /** CLOSE (§4.8), then waits for the exit; kills the process if it does not answer. */
  async close(): Promise<void> {
    if (!this.alive) return;
    try {
      await this.#request(MSG.CLOSE, [], 5000);
    } catch {
      this.kill();
    }
    await this.#closed;
  }

  /** Kills the process (tests use SIGKILL to simulate a crash). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#child.kill(signal);
  }

  /** Writes raw bytes to the enclave (protocol tests send junk with it). */
  writeRaw(bytes: Uint8Array): void {
    this.#onTraffic?.('out', bytes);
    this.#child.stdin.write(bytes);
  }

  /** Closes the enclave's input (protocol tests: end of input, truncated frames). */
  endInput(): void {
    this.#child.stdin.end();
  }

  /** Resolves with the next frame carrying `id` (protocol tests). */
  expect(id: number): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new EnclaveNnError('ENCLAVE_TIMEOUT', `no answer to request ${id}`)), this.#timeoutMs);
      this.#pending.set(id, { type: -1, resolve, reject, timer });
    });
  }

  /** Resolves once the process has exited and its pipes are closed, with its exit code and signal. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.#closed;
  }

  /**
   * The FORWARD frame for `feeds` as request `id`: through the layout's prebuilt encoder when the
   * layout is the last one's (or can be made one), else the general encoder (which also throws
   * the clear error for tensors the wire cannot carry).
   */
  #forwardFrame(feeds: Record<string, TensorData>, id: number): Uint8Array[] {
    const fast = this.#forwardEncoder?.encode(feeds, id);
    if (fast) return fast;
    try {
      this.#forwardEncoder = ForwardFrameEncoder.for(feeds);
    } catch {
      this.#forwardEncoder = undefined;
      return encodeFrame(MSG.FORWARD, id, encodeForward(feeds));
    }
    return this.#forwardEncoder.encode(feeds, id)!;
  }

  #request(type: number, payload: Uint8Array[], timeoutMs = this.#timeoutMs, poll = false, frame?: (id: number) => Uint8Array[]): Promise<Frame> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    let parts: Uint8Array[];
    try {
      parts = frame ? frame(id) : encodeFrame(type, id, payload);
    } catch (e) {
      return Promise.reject(e);
    }
    const answer = new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new EnclaveNnError('ENCLAVE_TIMEOUT', `Cannot get an answer from the enclave: request 0x${type.toString(16)} timed out after ${timeoutMs} ms; the enclave was stopped`, { exitCode: 1 }));
        this.kill();
      }, timeoutMs);
      this.#pending.set(id, { type, resolve, reject, timer });
      const stdin = this.#child.stdin;
      if (parts.length === 1) { // one write per frame: the FORWARD fast path
        this.#onTraffic?.('out', parts[0]!);
        stdin.write(parts[0]!);
      } else {
        stdin.cork();
        for (const p of parts) {
          this.#onTraffic?.('out', p);
          stdin.write(p);
        }
        stdin.uncork();
      }
    });
    // Poll only once the whole frame is in the pipe: bytes still queued in the stream are written
    // by the event loop, which a poll would hold up — a frame larger than the pipe's buffer would
    // then wait out every poll (a batch-64 FORWARD of 2.4 MB took 4–5 ms longer, issue 14).
    if (poll && this.#pollNs > 0n && this.#child.stdin.writableLength === 0) this.#poll(id);
    return answer;
  }

  /**
   * Reads the answer to request `id` straight from the pipe, without blocking, for at most
   * `pollMs` (§1 "Serving loop"). The bytes go through the same reader as the stream's, so order
   * holds: it polls only when the stream has nothing buffered. Stops early at end of input (the
   * enclave exited: its 'close' then reports ENCLAVE_DIED) or on any read error.
   */
  #poll(id: number): void {
    const stdout = this.#child.stdout;
    // libuv's descriptor of our end of the pipe (non-blocking). Node keeps it on the stream's
    // handle; without one (another platform or Node), no polling: the event loop delivers as before.
    const fd = (stdout as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0 || stdout.readableLength > 0) return;
    this.#pollBuf ??= new Uint8Array(POLL_READ_SIZE);
    const buf = this.#pollBuf;
    const deadline = process.hrtime.bigint() + this.#pollNs;
    // Each empty read throws EAGAIN: without stack traces that costs ~1 µs, not ~10.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      while (this.#pending.has(id)) {
        let n: number;
        try {
          n = readSync(fd, buf, 0, buf.byteLength, null);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EAGAIN' && process.hrtime.bigint() < deadline) continue;
          break;
        }
        if (n === 0) break;
        // A copy only for a traffic tap (it may keep the bytes); the reader copies into its frame.
        this.#onData(this.#onTraffic ? buf.slice(0, n) : buf.subarray(0, n));
      }
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    if (this.#pending.has(id)) this.polls.fellBack++;
    else this.polls.answered++;
  }

  #onData(chunk: Uint8Array): void {
    this.#onTraffic?.('in', new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    let frames: Frame[];
    try {
      frames = this.#reader.push(chunk);
    } catch (e) {
      this.kill();
      this.#die(`it sent an unreadable frame (${(e as Error).message})`);
      return;
    }
    for (const f of frames) this.#settle(f);
  }

  #settle(f: Frame): void {
    const p = this.#pending.get(f.id);
    if (!p) return; // an answer to nothing (e.g. BAD_FRAME with id 0) — seen via expect() in tests
    this.#pending.delete(f.id);
    clearTimeout(p.timer);
    if (p.type === -1) { p.resolve(f); return; }
    if (f.type === MSG.ERROR) {
      const e = decodeError(new PayloadReader(f.body));
      p.reject(new ProtocolError(e.name, e.message));
    } else if (f.type !== OK(p.type)) {
      p.reject(new ProtocolError('INTERNAL', `Cannot understand the enclave: answer type 0x${f.type.toString(16)} to request 0x${p.type.toString(16)}`));
    } else {
      p.resolve(f);
    }
  }

  #die(why: string): void {
    if (this.#dead) return;
    this.#dead = new EnclaveNnError('ENCLAVE_DIED', `Cannot use the enclave: ${why}`, { exitCode: 1 });
    // id-0 frames (BAD_FRAME) arrive just before the exit: let expect() see them first.
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(this.#dead);
      this.#pending.delete(id);
    }
  }
}

/**
 * `pollMs` checked, or its default: 1 ms when the enclave leaves a core free, else 0 — a host
 * spinning on a core the enclave's second onnxruntime thread needs made a 2-thread tail's round
 * trip 0.7–1.2 ms instead of ≈ 0.15 (MNIST k = 6–8 on 2 cores; decisions 49).
 */
export function pollMsOf(pollMs: number | undefined, ortThreads?: number): number {
  const cores = availableParallelism();
  if (pollMs === undefined) return cores > 1 && (ortThreads ?? cores) < cores ? 1 : 0;
  if (!Number.isFinite(pollMs) || pollMs < 0 || pollMs > 1000) throw new RangeError(`Cannot start enclave: pollMs must be a number of ms in 0..1000, got ${pollMs}`);
  return pollMs;
}

/** Forwards the enclave's stderr to ours, dropping its INSECURE banner lines (the host prints its own once). */
function stderrForwarder(): (bytes: Uint8Array) => void {
  let partial = '';
  return (bytes) => {
    const text = partial + Buffer.from(bytes).toString('utf8');
    const lines = text.split('\n');
    partial = lines.pop()!;
    for (const l of lines) if (!l.startsWith(INSECURE_PREFIX)) process.stderr.write(l + '\n');
  };
}

/**
 * Variables the trusted program (and a launcher such as gramine-sgx) may need: where its home
 * is, how to find programs and libraries, the locale and temporary folder. Nothing else crosses:
 * NODE_OPTIONS could inject code into the enclave's Node, and NODE_EXTRA_CA_CERTS alone costs
 * ~100 ms of boot parsing a CA bundle the enclave never uses (docs/enclave-protocol.md §8).
 */
export const ENCLAVE_ENV_KEYS = ['PATH', 'HOME', 'ENCLAVE_NN_HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'LD_LIBRARY_PATH', 'SYSTEMROOT', 'USERPROFILE'] as const;

/**
 * The environment the host gives the enclave process: only {@link ENCLAVE_ENV_KEYS}, from `from`.
 *
 * @param from the host's environment
 * @example
 * ```ts
 * spawn(node, [program], { env: enclaveEnvironment(process.env) });
 * ```
 */
export function enclaveEnvironment(from: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ENCLAVE_ENV_KEYS) if (from[k] !== undefined) env[k] = from[k] as string;
  return env;
}
