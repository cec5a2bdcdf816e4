/**
 * The local inference server (docs/serve.md): a pool of prewarmed sessions (head on
 * onnxruntime, tail in an enclave), the batcher in front of them, the Open Inference Protocol
 * routes, and node:http with a body size cap and timeouts. With a license server, the pool
 * checks in in the background and seals its license state to disk.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBundleFile } from '../bundle/file.ts';
import type { Bundle } from '../bundle/types.ts';
import { EnclaveNnError, errorLine, isErrorCode } from '../errors.ts';
import { checkIn, saveLicenseState } from '../license/client.ts';
import type { TensorData } from '../onnx/ort.ts';
import type { KeySource } from '../enclave/key-provider.ts';
import { checkFeeds, Session, type SessionOptions } from '../runtime/session.ts';
import { Batcher, type BatchRunner } from './batcher.ts';
import { createRoutes, errorResponse, type ServeRequest, type ServeResponse } from './routes.ts';

/** Options of {@link InferenceServer.create}. */
export interface ServeOptions {
  /** The `.enn` bundle: a path or a bundle already read. */
  bundle: string | Bundle;
  /** The key source of pool member `index` (each enclave is provisioned on its own). */
  keySource: (index: number) => KeySource;
  /** The model's name in `/v2/models/{name}`. @defaultValue the bundle file's name without `.enn`, else the model id */
  name?: string;
  /** How many enclaves (sessions) serve in parallel. @defaultValue 1 */
  enclaves?: number;
  /** Most samples in one FORWARD. @defaultValue 32 */
  maxBatch?: number;
  /** Longest a request waits for a batch to fill (ms). @defaultValue 2 */
  maxWaitMs?: number;
  /** Longest a request waits in the queue for an enclave before a 503 (ms). @defaultValue 30000 */
  queueTimeoutMs?: number;
  /** When set, every route but the health probes needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Largest accepted request body (bytes); larger ones get 413. @defaultValue 64 MiB */
  maxBodySize?: number;
  /** Longest a client may take to send a whole request (ms); node answers 408 after it. @defaultValue 30000 */
  requestTimeoutMs?: number;
  /** The license server to check in with in the background, and where pool member `index` keeps its sealed license state. */
  license?: { server: string; stateFile?: (index: number) => string; checkinIntervalMs?: number };
  /** Session options passed through (engine, platform, enclave timeouts and stderr). */
  session?: Pick<SessionOptions, 'engine' | 'platform' | 'enclave'>;
  /** Where warnings and background failures go (one line each). @defaultValue stderr */
  log?: (line: string) => void;
}

/** The warning printed when the server listens beyond loopback (docs/serve.md §6). */
export function exposureWarning(url: string, token: boolean): string {
  return token
    ? `enclave-nn: WARNING: serving ${url} beyond loopback: a bearer token is required, but plain HTTP carries it and the tensors unencrypted; put a TLS proxy in front`
    : `enclave-nn: WARNING: serving ${url} beyond loopback WITHOUT AUTHENTICATION: anyone who reaches it can run the model and spend the license's credits; give --token`;
}

/** Whether `host` is a loopback address (the default bind). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const REFUSAL_CHECKIN_MS = 5_000;
const DEFAULT_MAX_BODY = 64 * 1024 * 1024;

/**
 * A running inference server.
 *
 * @example
 * ```ts
 * const s = await InferenceServer.create({ bundle: 'model.enn', keySource: () => ({ kind: 'insecure-dev-key', providerKey: 'model.enn.key' }) });
 * const { url } = await s.listen(8000);
 * await s.close();
 * ```
 */
export class InferenceServer {
  /** The served model's name. */
  readonly name: string;
  /** The pool: one session per enclave. */
  readonly sessions: readonly Session[];
  /** The queue in front of the pool. */
  readonly batcher: Batcher;
  /** The routes, callable in-process. */
  readonly handle: (req: ServeRequest) => Promise<ServeResponse>;
  readonly #o: ServeOptions;
  readonly #log: (line: string) => void;
  #http: Server | undefined;
  #checkins: NodeJS.Timeout | undefined;
  #saving = new Set<number>();
  #closed = false;

  private constructor(o: ServeOptions, name: string, sessions: Session[], log: (line: string) => void) {
    this.#o = o;
    this.#log = log;
    this.name = name;
    this.sessions = sessions;
    const h = sessions[0]!.bundle.header;
    // Requests share a FORWARD only if every input, cut tensor and output has a variable batch dimension.
    const concat = [...h.headInputs, ...h.inputs, ...h.outputs].every((s) => s.shape.length > 0 && typeof s.shape[0] === 'string');
    this.batcher = new Batcher(sessions.map((s, i) => this.#runner(s, i)), { maxBatch: o.maxBatch, maxWaitMs: o.maxWaitMs, queueTimeoutMs: o.queueTimeoutMs, concat });
    this.handle = createRoutes({
      version: VERSION, log, ...(o.token !== undefined ? { token: o.token } : {}),
      model: { name, inputs: h.headInputs, outputs: h.outputs, ready: () => !this.#closed, infer: (feeds, samples) => {
        // The runtime's own checks (NaN/Inf among them) per request, before batching: a bad request
        // must not make the batch it would join fail.
        checkFeeds(h.headInputs, feeds);
        return this.batcher.submit(feeds, samples);
      } },
    });
  }

  /** Reads the bundle and starts the pool (every enclave prewarmed: provisioned, tail loaded). */
  static async create(o: ServeOptions): Promise<InferenceServer> {
    const n = o.enclaves ?? 1;
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError('enclaves must be a positive integer');
    const bundle = typeof o.bundle === 'string' ? await readBundleFile(o.bundle) : o.bundle;
    const name = o.name ?? (typeof o.bundle === 'string' ? o.bundle.replace(/^.*\//, '').replace(/\.enn$/, '') : bundle.header.modelId);
    const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
    const sessions: Session[] = [];
    // Every enclave boots at once, while the first ones are provisioned (issue 14, item 3).
    const pool = Session.prewarmFor(bundle, o.session ?? {}, n);
    try {
      // One after the other: each provisioning is its own attestation and license round.
      for (let i = 0; i < n; i++) sessions.push(await Session.create({ ...o.session, bundle, keySource: o.keySource(i), pool }));
    } catch (e) {
      for (const s of sessions) await s.close();
      throw e;
    } finally {
      await pool.close();
    }
    const server = new InferenceServer(o, name, sessions, log);
    if (o.license) {
      const every = o.license.checkinIntervalMs ?? 300_000;
      // One round at a time: a slow license server must not pile up check-ins behind each other.
      let round: Promise<void> | undefined;
      server.#checkins = setInterval(() => { round ??= server.checkInAll().finally(() => { round = undefined; }); }, every);
      server.#checkins.unref();
    }
    return server;
  }

  /** Listens on `host:port` (port 0: any free port). Warns when `host` is not loopback. */
  async listen(port = 8000, host = '127.0.0.1'): Promise<{ url: string; port: number }> {
    // A client that hangs up mid-request must not take the server down (unhandled rejection).
    const serve = (req: IncomingMessage, res: ServerResponse): void => { this.#serveOne(req, res).catch(() => res.destroy()); };
    const http = createServer(serve);
    // `Expect: 100-continue` (curl, for large bodies): an oversize body is refused before it is sent.
    http.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      if (Number(req.headers['content-length'] ?? 0) <= (this.#o.maxBodySize ?? DEFAULT_MAX_BODY)) res.writeContinue();
      serve(req, res);
    });
    http.requestTimeout = this.#o.requestTimeoutMs ?? 30_000;
    http.headersTimeout = Math.min(http.requestTimeout, 10_000);
    http.keepAliveTimeout = 5_000;
    this.#http = http;
    await new Promise<void>((resolve, reject) => { http.once('error', reject); http.listen(port, host, () => resolve()); });
    const a = http.address() as AddressInfo;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${a.port}`;
    if (!isLoopback(host)) this.#log(exposureWarning(url, this.#o.token !== undefined));
    return { url, port: a.port };
  }

  /**
   * Checks every pool member in with the license server (usage report → grant), each while
   * its enclave is idle. Failures are logged, not thrown: the server keeps serving offline.
   */
  async checkInAll(): Promise<void> {
    const lic = this.#o.license;
    if (!lic) return;
    await Promise.all(this.sessions.map((s, i) => this.batcher.chore(i, async () => {
      const e = s.enclaveProcess;
      if (!e?.alive) return;
      await checkIn(e, lic.server, lic.stateFile ? { stateFile: lic.stateFile(i) } : {});
    }).catch((err: unknown) => this.#log(`enclave-nn serve: background check-in of enclave ${i} failed: ${errorLine(err)}`))));
  }

  /** Stops listening, refuses queued requests, saves license state, closes the enclaves. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#checkins);
    this.batcher.close();
    if (this.#http) {
      const h = this.#http;
      await new Promise<void>((resolve) => { h.close(() => resolve()); h.closeIdleConnections(); });
    }
    const file = this.#o.license?.stateFile;
    for (const [i, s] of this.sessions.entries()) {
      // The counters go to disk before the enclave zeroes them: the next start resumes from here.
      await this.batcher.chore(i, async () => { if (file && s.enclaveProcess?.alive) await saveLicenseState(s.enclaveProcess, file(i)); })
        .catch((e: unknown) => this.#log(`enclave-nn serve: cannot save the license state of enclave ${i}: ${errorLine(e)}`));
      await s.close();
    }
  }

  #runner(s: Session, i: number): BatchRunner {
    let lastRefusalCheckin = -Infinity;
    return {
      run: async (feeds: Record<string, TensorData>) => {
        const lic = this.#o.license;
        try {
          return await s.run(feeds);
        } catch (e) {
          // Out of credits or of offline time: one check-in may top up (at most one per 5 s, so a
          // truly exhausted license does not cost a license-server round trip per request).
          const e2 = s.enclaveProcess;
          if (!lic || !(isErrorCode(e, 'ENCLAVE_QUOTA') || isErrorCode(e, 'ENCLAVE_LICENSE')) || !e2?.alive || performance.now() - lastRefusalCheckin < REFUSAL_CHECKIN_MS) throw e;
          lastRefusalCheckin = performance.now();
          try {
            await checkIn(e2, lic.server, lic.stateFile ? { stateFile: lic.stateFile(i) } : {});
          } catch (cause) {
            this.#log(`enclave-nn serve: check-in after a refusal failed: ${errorLine(cause)}`);
            throw e;
          }
          return await s.run(feeds);
        } finally {
          this.#saveSoon(s, i);
        }
      },
    };
  }

  /** Seals the license counters to disk at most once a second, between forwards. */
  #saveSoon(s: Session, i: number): void {
    const file = this.#o.license?.stateFile;
    if (!file || this.#saving.has(i) || this.#closed) return;
    this.#saving.add(i);
    setTimeout(() => {
      void this.batcher.chore(i, async () => { if (s.enclaveProcess?.alive && !this.#closed) await saveLicenseState(s.enclaveProcess, file(i)); })
        .catch((e: unknown) => this.#log(`enclave-nn serve: cannot save the license state of enclave ${i}: ${errorLine(e)}`))
        .finally(() => this.#saving.delete(i));
    }, 1_000).unref();
  }

  async #serveOne(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const max = this.#o.maxBodySize ?? DEFAULT_MAX_BODY;
    const send = (r: ServeResponse, close = false): void => {
      res.writeHead(r.status, { ...r.headers, 'content-length': String(r.body.byteLength), ...(close ? { connection: 'close' } : {}) });
      res.end(req.method === 'HEAD' ? undefined : r.body);
    };
    const tooLarge = (): void => send(errorResponse(new EnclaveNnError('SERVE_TOO_LARGE', `Cannot read request: the body exceeds ${max} bytes`)), true);
    // Refuse by the announced length before reading a byte; count the bytes too (chunked bodies).
    if (Number(req.headers['content-length'] ?? 0) > max) { tooLarge(); req.resume(); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).byteLength;
      if (size > max) { tooLarge(); req.resume(); return; } // the rest is drained, not kept
      chunks.push(c as Buffer);
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    send(await this.handle({ method: req.method ?? 'GET', url: req.url ?? '/', headers, body: new Uint8Array(Buffer.concat(chunks)) }));
  }
}
