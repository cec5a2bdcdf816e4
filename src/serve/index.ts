/**
 * The local inference server on the Open Inference Protocol v2 REST API (docs/serve.md):
 * `enclave-nn serve`. Only the CLI imports this folder.
 *
 * - {@link InferenceServer}: a pool of prewarmed sessions, the batcher, the routes, node:http
 * - {@link createRoutes}: the routes as one in-process function (request → response)
 * - {@link Batcher}: dynamic batching with exact per-request metering
 * - {@link decodeInferRequest} / {@link encodeInferResponse}: JSON and binary tensor bodies
 *
 * @example
 * ```ts
 * import { InferenceServer } from './serve/index.ts';
 * const s = await InferenceServer.create({ bundle: 'model.enn', keySource: () => ({ kind: 'insecure-dev-key', providerKey: 'model.enn.key' }) });
 * const { url } = await s.listen(8000);
 * ```
 *
 * @module
 */
export { InferenceServer, exposureWarning, isLoopback, type ServeOptions } from './server.ts';
export { createRoutes, statusOf, type ServeRequest, type ServeResponse, type ServedModel, type RoutesOptions } from './routes.ts';
export { Batcher, concatFeeds, splitOutputs, type BatchRunner, type BatcherOptions } from './batcher.ts';
export { decodeInferRequest, encodeInferResponse, type InferRequest } from './codec.ts';
export { OIP_DATATYPE } from './datatypes.ts';
