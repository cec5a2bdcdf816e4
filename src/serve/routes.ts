/**
 * The Open Inference Protocol v2 REST routes (docs/serve.md §2–§4) as one in-process function:
 * request in, response out, no sockets — the HTTP server (server.ts) and the in-process tests
 * call the same handler.
 */
import { timingSafeEqual } from '../crypto/index.ts';
import { EnclaveNnError, errorLine } from '../errors.ts';
import type { TensorData } from '../onnx/ort.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';
import { decodeInferRequest, encodeInferResponse, oipShape } from './codec.ts';
import { OIP_DATATYPE } from './datatypes.ts';

/** An HTTP request reduced to what the routes read. Header names are lower case. */
export interface ServeRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: Readonly<Record<string, string | undefined>>;
  body: Uint8Array;
}

/** An HTTP response. */
export interface ServeResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** The served model, as the routes see it. */
export interface ServedModel {
  /** The name in `/v2/models/{name}`. */
  name: string;
  /** The public inputs (the head's). */
  inputs: readonly TensorSpec[];
  /** The public outputs. */
  outputs: readonly TensorSpec[];
  /** Whether inference can be served now (enclaves started and provisioned). */
  ready(): boolean;
  /** Runs checked feeds of `samples` samples (through the batcher). */
  infer(feeds: Record<string, TensorData>, samples: number): Promise<Record<string, TensorData>>;
}

/** Options of {@link createRoutes}. */
export interface RoutesOptions {
  model: ServedModel;
  /** When set, every route but the health probes needs `Authorization: Bearer <token>`. */
  token?: string;
  /** The server version in server metadata. */
  version: string;
  /** Where internal failures are logged (one line each). @defaultValue stderr */
  log?: (line: string) => void;
}

const utf8 = new TextEncoder();

/**
 * HTTP status of a refusal, by error code (docs/serve.md §4). The protocol asks for an error
 * status, "typically 400", and the body `{"error": "<message>"}`.
 */
export function statusOf(code: string): number {
  switch (code) {
    case 'SERVE_BAD_REQUEST': case 'INPUT': case 'ENCLAVE_INPUT': case 'SESSION_FRAME': return 400;
    case 'SERVE_UNAUTHORIZED': return 401;
    case 'ENCLAVE_LICENSE': return 403;
    case 'SERVE_NOT_FOUND': return 404;
    case 'SERVE_METHOD': return 405;
    case 'SERVE_TOO_LARGE': return 413;
    case 'ENCLAVE_QUOTA': return 429;
    case 'SERVE_UNAVAILABLE': case 'SERVE_TIMEOUT': case 'ENCLAVE_DIED': case 'ENCLAVE_TIMEOUT': case 'ENCLAVE_RESTART': return 503;
    default: return 500;
  }
}

/** A JSON response. */
export function jsonResponse(status: number, value: unknown, headers: Record<string, string> = {}): ServeResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: utf8.encode(JSON.stringify(value)) };
}

/** The protocol's error response for `e`: `{"error": "<one line>"}` with its status. */
export function errorResponse(e: unknown, log: (line: string) => void = (l) => process.stderr.write(l + '\n')): ServeResponse {
  const code = e instanceof EnclaveNnError ? e.code : 'INTERNAL';
  const status = statusOf(code);
  // An unexpected failure's text may come from a library: the client gets its code only, the log gets the line.
  const message = e instanceof EnclaveNnError && status !== 500 ? errorLine(e) : `Cannot run inference: internal error (${code})`;
  if (status >= 500) log(`enclave-nn serve: ${errorLine(e)}`);
  const extra: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer' } : status === 405 ? { allow: (e as EnclaveNnError & { allow?: string }).allow ?? '' } : {};
  return jsonResponse(status, { error: message }, extra);
}

function methodNotAllowed(method: string, path: string, allow: string): never {
  throw Object.assign(new EnclaveNnError('SERVE_METHOD', `Cannot ${method} ${path}: use ${allow}`), { allow });
}

/**
 * The request handler.
 *
 * @example
 * ```ts
 * const handle = createRoutes({ model, version: '0.1.0' });
 * const res = await handle({ method: 'GET', url: '/v2/health/ready', headers: {}, body: new Uint8Array(0) });
 * ```
 */
export function createRoutes(o: RoutesOptions): (req: ServeRequest) => Promise<ServeResponse> {
  const { model } = o;
  const token = o.token === undefined ? undefined : utf8.encode(`Bearer ${o.token}`);
  const outputNames = model.outputs.map((s) => s.name);
  const tensor = (s: TensorSpec): Record<string, unknown> => ({ name: s.name, datatype: OIP_DATATYPE[s.dtype], shape: oipShape(s.shape) });

  return async (req) => {
    try {
      const path = req.url.split('?')[0]!.replace(/\/+$/, '');
      const isHealth = path === '/v2/health/live' || path === '/v2/health/ready';
      // Bearer token: compared in constant time so its bytes cannot be guessed one by one.
      if (token && !isHealth) {
        const got = utf8.encode(req.headers.authorization ?? '');
        if (got.byteLength !== token.byteLength || !timingSafeEqual(got, token)) throw new EnclaveNnError('SERVE_UNAUTHORIZED', `Cannot serve ${path}: missing or wrong bearer token`);
      }
      const get = (allow = 'GET'): void => { if (req.method !== 'GET' && req.method !== 'HEAD') methodNotAllowed(req.method, path, allow); };
      if (path === '/v2/health/live') { get(); return jsonResponse(200, { live: true }); }
      if (path === '/v2/health/ready') { get(); const r = model.ready(); return jsonResponse(r ? 200 : 503, { ready: r }); }
      if (path === '/v2') { get(); return jsonResponse(200, { name: 'enclave-nn', version: o.version, extensions: ['binary_tensor_data'] }); }
      const m = /^\/v2\/models\/([^/]+)(\/versions\/[^/]+)?(\/ready|\/infer)?$/.exec(path);
      if (!m) throw new EnclaveNnError('SERVE_NOT_FOUND', `Cannot serve ${path}: no such endpoint`);
      let name: string;
      try { name = decodeURIComponent(m[1]!); } catch { throw new EnclaveNnError('SERVE_NOT_FOUND', `Cannot serve ${path}: bad model name`); }
      if (name !== model.name) throw new EnclaveNnError('SERVE_NOT_FOUND', `Cannot find model '${name}': this server serves '${model.name}'`);
      if (m[2]) throw new EnclaveNnError('SERVE_NOT_FOUND', `Cannot find model '${name}' version '${m[2].slice('/versions/'.length)}': this server does not version models (leave out /versions/…)`);
      if (m[3] === '/ready') { get(); const r = model.ready(); return jsonResponse(r ? 200 : 503, { name, ready: r }); }
      if (m[3] === undefined) {
        get();
        return jsonResponse(200, { name, platform: 'onnx_onnxv1', inputs: model.inputs.map(tensor), outputs: model.outputs.map(tensor) });
      }
      if (req.method !== 'POST') methodNotAllowed(req.method, path, 'POST');
      const request = decodeInferRequest(req.body, req.headers['inference-header-content-length'], { inputs: model.inputs, outputs: outputNames });
      const outputs = await model.infer(request.feeds, request.samples);
      const { body, headers } = encodeInferResponse({ modelName: model.name, request, outputs });
      return { status: 200, headers, body };
    } catch (e) {
      return errorResponse(e, o.log);
    }
  };
}
