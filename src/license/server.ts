/**
 * The license server's HTTP JSON API (docs/license-protocol.md §8) over node:http. The
 * request handler is a plain function ({@link LicenseServer.handle}) so tests call it in-process;
 * {@link LicenseServer.listen} serves it for real.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeProviderKeyFile } from '../bundle/provider-key.ts';
import { EnclaveNnError, errorLine } from '../errors.ts';
import { describeStoreError } from './open-store.ts';
import { adminTokenMatches } from './secrets.ts';
import { LicenseService, type LicenseRequest } from './service.ts';
import type { LicenseRecord, ModelPolicy } from './store.ts';
import { toBase64Url } from '../util/encoding.ts';

/** An HTTP request, reduced to what the handler reads. */
export interface HttpRequest {
  method: string;
  /** Path and query, e.g. `/v1/admin/licenses?customer=acme`. */
  url: string;
  /** The `Authorization` header, if any. */
  authorization?: string;
  /** The raw body (JSON). */
  body?: Uint8Array;
  /** The `Content-Type` header; when given, a POST body must be `application/json` (else 415). In-process callers may omit it. */
  contentType?: string;
}

/** An HTTP response: status and JSON body. */
export interface HttpResponse {
  status: number;
  body: unknown;
}

/** Largest accepted request body: a quote is ~5 KiB, a provider key file < 1 KiB. */
export const MAX_BODY_SIZE = 256 * 1024;

/** Options of {@link LicenseServer}. */
export interface LicenseServerOptions {
  /** Where internal errors and operator-actionable refusals are logged, one line each (never secrets). @defaultValue stderr */
  log?: (line: string) => void;
}

/** Socket limits of {@link LicenseServer.listen} (§8.3), in milliseconds. */
export interface ListenLimits {
  /** Whole request (headers and body) must arrive within this, else 408 and the socket closes. @defaultValue 10000 */
  requestTimeoutMs?: number;
  /** Headers must arrive within this. @defaultValue 5000 */
  headersTimeoutMs?: number;
  /** An idle kept-alive connection closes after this. @defaultValue 65000 */
  keepAliveTimeoutMs?: number;
}

/** A path WHATWG URL parsing leaves as it is: non-empty segments of [a-z0-9-], no query. */
const PLAIN_PATH = /^(?:\/[a-z0-9-]+)+$/;

/** Largest `limit` of `GET /v1/admin/audit`. */
export const MAX_AUDIT_LIMIT = 10000;


/** HTTP status of a refusal, by error code (§8.3). */
export function statusOf(code: string): number {
  if (code === 'BAD_REQUEST' || code === 'PROVIDER_KEY') return 400;
  if (code === 'UNSUPPORTED_MEDIA_TYPE') return 415;
  if (code === 'ADMIN_AUTH') return 401;
  if (code === 'NOT_FOUND' || code.endsWith('_UNKNOWN') || code === 'USAGE_UNKNOWN_ENCLAVE') return 404;
  if (code === 'STORE_CONFLICT' || code === 'PROVISION_NONCE' || code === 'USAGE_ROLLBACK') return 409;
  if (code === 'INTERNAL' || code === 'SERVER_SECRET' || code === 'STORE_SCHEMA') return 500;
  return 403; // attestation, policy, license and report refusals
}

function licenseView(l: LicenseRecord): Record<string, unknown> {
  return {
    licenseId: l.id, modelId: l.modelId, customerId: l.customerId, notBefore: l.notBefore, notAfter: l.notAfter,
    creditsTotal: l.creditsTotal, creditsGranted: l.creditsAllocated, offline: { maxInferences: l.offlineMaxInferences, maxSeconds: l.offlineMaxSeconds },
    revoked: l.revokedAt !== null, revokedAt: l.revokedAt, revokedReason: l.revokedReason, monitorAlarmAt: l.monitorAlarmAt, token: l.token,
  };
}

/**
 * The HTTP face of a {@link LicenseService}.
 *
 * @example
 * ```ts
 * const server = new LicenseServer(service, adminToken);
 * const res = await server.handle({ method: 'POST', url: '/v1/challenge', body: utf8('{"licenseId":"lic-1"}') });
 * const { url } = await server.listen(8443, '127.0.0.1');
 * ```
 */
export class LicenseServer {
  readonly service: LicenseService;
  private readonly adminToken: string;
  private readonly log: (line: string) => void;
  private http: Server | undefined;

  constructor(service: LicenseService, adminToken: string, o: LicenseServerOptions = {}) {
    this.service = service;
    this.adminToken = adminToken;
    this.log = o.log ?? ((line) => { process.stderr.write(`${line}\n`); });
  }

  /** Handles one request; never throws (internal errors become 500 without details). */
  async handle(req: HttpRequest): Promise<HttpResponse> {
    // A plain path (the hot /v1/usage) is its own normal form; anything else goes through URL.
    const plain = PLAIN_PATH.test(req.url);
    const u = plain ? undefined : new URL(req.url, 'http://x');
    const path = u ? u.pathname : req.url;
    try {
      // JSON only: a text/plain POST is what a web page can send cross-site without a preflight.
      if (req.method === 'POST' && req.body?.byteLength && req.contentType !== undefined && !/^application\/json\s*(;|$)/i.test(req.contentType)) {
        throw new EnclaveNnError('UNSUPPORTED_MEDIA_TYPE', `Cannot read request: the body is ${req.contentType ? `'${req.contentType.slice(0, 100)}'` : 'sent without a Content-Type'}, not application/json`);
      }
      const body = req.method === 'POST' ? parseBody(req.body) : {};
      if (path.startsWith('/v1/admin/')) {
        // Bearer token, compared in constant time; a wrong token is refused and audited.
        const presented = /^Bearer (.+)$/.exec(req.authorization ?? '')?.[1];
        if (!adminTokenMatches(this.adminToken, presented)) {
          const e = new EnclaveNnError('ADMIN_AUTH', `Cannot ${req.method} ${path}: ${presented === undefined ? 'no' : 'wrong'} admin token`);
          await this.service.refuse('anonymous', 'admin.auth', path, e);
          throw e;
        }
        return { status: 200, body: await this.admin(req.method, path, u ? u.searchParams : new URLSearchParams(), body) };
      }
      const svc = this.service;
      const route = `${req.method} ${path}`;
      switch (route) {
        case 'GET /v1/health': return { status: 200, body: { ok: true } };
        case 'POST /v1/challenge': {
          const r = await svc.challenge(body);
          return { status: 200, body: { nonce: toBase64Url(r.nonce), modelId: r.modelId, expiresAt: r.expiresAt } };
        }
        case 'POST /v1/provision': {
          const r = await svc.provision(body);
          return { status: 200, body: { licenseId: r.licenseId, modelId: r.modelId, enclaveId: r.enclaveId, allowance: r.allowance, wrapped: toBase64Url(r.wrapped) } };
        }
        case 'POST /v1/usage': return { status: 200, body: await svc.usage(body) };
        default: throw new EnclaveNnError('NOT_FOUND', `Cannot ${req.method} ${path}: no such endpoint`);
      }
    } catch (e) {
      const status = e instanceof EnclaveNnError ? statusOf(e.code) : 500;
      // Internal errors are logged here (the client sees "internal error"); stale or missing
      // collateral too, since only the operator can fix it. Messages carry no secrets; the
      // stack only with ENCLAVE_NN_DEBUG.
      if (status === 500) {
        this.log(`license-server: internal error in ${req.method} ${path}: ${e instanceof EnclaveNnError ? e.message : describeStoreError(e)}`);
        if (process.env.ENCLAVE_NN_DEBUG) this.log(String((e as Error).stack));
      } else if (e instanceof EnclaveNnError && (e.code === 'ATTEST_COLLATERAL_MISSING' || e.code === 'ATTEST_COLLATERAL_EXPIRED')) {
        this.log(`license-server: refused ${req.method} ${path}: ${errorLine(e)}`);
      }
      if (e instanceof EnclaveNnError) return { status, body: { error: { code: e.code, message: status === 500 ? 'internal error' : e.message } } };
      return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } };
    }
  }

  private async admin(method: string, path: string, q: URLSearchParams, body: Record<string, unknown>): Promise<unknown> {
    const svc = this.service;
    const filter = { ...(q.get('customer') ? { customerId: q.get('customer')! } : {}), ...(q.get('model') ? { modelId: q.get('model')! } : {}) };
    const m = /^\/v1\/admin\/licenses\/([^/]+)\/(revoke|credits)$/.exec(path);
    if (method === 'POST' && m) {
      const id = decodeURIComponent(m[1]!);
      return licenseView(m[2] === 'revoke' ? await svc.revokeLicense(id, body.reason) : await svc.addCredits(id, body.credits));
    }
    const mm = /^\/v1\/admin\/models\/([^/]+)\/(policy|remove)$/.exec(path);
    if (method === 'POST' && mm) {
      const id = decodeURIComponent(mm[1]!);
      return mm[2] === 'policy' ? svc.updateModel(id, body.policy as ModelPolicy) : svc.removeModel(id);
    }
    switch (`${method} ${path}`) {
      case 'GET /v1/admin/models': return { models: await svc.store.listModels() };
      case 'POST /v1/admin/models': {
        const key = decodeProviderKeyFile(new TextEncoder().encode(JSON.stringify(body.providerKey ?? null)), 'in request');
        try {
          return await svc.addModel(key, body.policy as ModelPolicy);
        } finally {
          key.modelKey.fill(0); key.signingKey.fill(0);
        }
      }
      case 'GET /v1/admin/customers': return { customers: await svc.store.listCustomers() };
      case 'POST /v1/admin/customers': return svc.addCustomer(body.id, body.name);
      case 'GET /v1/admin/licenses': return { licenses: (await svc.store.listLicenses(filter)).map(licenseView) };
      case 'POST /v1/admin/licenses': return licenseView(await svc.grantLicense(body as never));
      case 'GET /v1/admin/usage': return { usage: await svc.store.usage(filter) };
      case 'GET /v1/admin/audit': return {
        audit: await svc.store.listAudit({
          ...(q.get('subject') ? { subject: q.get('subject')! } : {}),
          ...(q.get('outcome') === 'ok' || q.get('outcome') === 'refused' ? { outcome: q.get('outcome') as 'ok' | 'refused' } : {}),
          limit: auditLimit(q.get('limit')),
        }),
      };
      case 'POST /v1/admin/fulfill': return svc.fulfill(body.request as Partial<LicenseRequest>);
      default: throw new EnclaveNnError('NOT_FOUND', `Cannot ${method} ${path}: no such endpoint`);
    }
  }

  /** Serves over HTTP on `host:port` (port 0 = any free port), with the socket limits of {@link ListenLimits}. */
  async listen(port: number, host = '127.0.0.1', limits: ListenLimits = {}): Promise<{ url: string; port: number }> {
    // A slow client (headers or body trickling in) must not hold a socket for long: Node answers
    // 408 and closes it once requestTimeout passes; it checks at connectionsCheckingInterval.
    const requestTimeout = limits.requestTimeoutMs ?? 10_000;
    const server = createServer({
      requestTimeout, headersTimeout: Math.min(limits.headersTimeoutMs ?? 5_000, requestTimeout),
      keepAliveTimeout: limits.keepAliveTimeoutMs ?? 65_000, connectionsCheckingInterval: Math.max(50, Math.min(1_000, requestTimeout / 4)),
    }, (req, res) => {
      // A client that hangs up mid-request must not take the server down (unhandled rejection).
      this.serveOne(req, res).catch(() => res.destroy());
    });
    this.http = server;
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, host, () => resolve()); });
    const a = server.address() as AddressInfo;
    return { url: `http://${host.includes(':') ? `[${host}]` : host}:${a.port}`, port: a.port };
  }

  private async serveOne(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The body by events, not an async iterator: one listener, no iterator state per request.
    const body = await new Promise<Buffer | undefined>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (c: Buffer): void => {
        size += c.byteLength;
        if (size <= MAX_BODY_SIZE) { chunks.push(c); return; }
        // Too big: stop keeping it, answer 413, and close the connection after the answer.
        req.off('data', onData);
        req.resume();
        resolve(undefined);
      };
      req.on('data', onData);
      req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
      req.once('error', reject);
      // A client that hangs up mid-body: no answer to give (the caller closes the socket).
      req.once('close', () => { if (!req.complete) reject(new Error('the client closed the request before its end')); });
    });
    let out: HttpResponse;
    if (body === undefined) {
      res.shouldKeepAlive = false;
      out = { status: 413, body: { error: { code: 'BAD_REQUEST', message: `request body exceeds ${MAX_BODY_SIZE} bytes` } } };
    } else {
      out = await this.handle({
        method: req.method ?? 'GET', url: req.url ?? '/', ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        body, contentType: req.headers['content-type'] ?? '',
      });
    }
    const json = JSON.stringify(out.body);
    res.writeHead(out.status, ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(json)), 'cache-control', 'no-store']);
    res.end(json);
  }

  /** Stops listening and closes idle connections. */
  async close(): Promise<void> {
    const s = this.http;
    this.http = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => { s.close(() => resolve()); s.closeAllConnections(); });
  }
}

/** `limit` of the audit listing: an integer 1…{@link MAX_AUDIT_LIMIT}, default 1000; else `BAD_REQUEST`. */
function auditLimit(v: string | null): number {
  if (v === null) return 1000;
  if (!/^\d{1,6}$/.test(v) || Number(v) < 1 || Number(v) > MAX_AUDIT_LIMIT) {
    throw new EnclaveNnError('BAD_REQUEST', `Cannot read request: limit must be an integer from 1 to ${MAX_AUDIT_LIMIT}, got '${v.slice(0, 20)}'`);
  }
  return Number(v);
}

function parseBody(body: Uint8Array | undefined): Record<string, unknown> {
  if (!body || body.byteLength === 0) return {};
  if (body.byteLength > MAX_BODY_SIZE) throw new EnclaveNnError('BAD_REQUEST', `Cannot read request: body exceeds ${MAX_BODY_SIZE} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw new EnclaveNnError('BAD_REQUEST', 'Cannot read request: body is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new EnclaveNnError('BAD_REQUEST', 'Cannot read request: body is not a JSON object');
  return v as Record<string, unknown>;
}
