/**
 * Session options used for every onnxruntime-node session the project creates (public head,
 * native tail, the enclave's engine), so that all sides run the same configuration.
 * Spinning is off: ORT's intra-op threads otherwise busy-wait after each run, and several idle
 * sessions (the bench keeps one enclave per split alive) would steal the cores from the one
 * being measured. Only errors are logged (`logSeverityLevel` 3): ORT's warnings (unused
 * initializers, …) are for model authors and must not reach a user's terminal. A module of its own, importing nothing, so that the trusted program's ORT
 * engine can use it without pulling onnxruntime-node and the ONNX codec into every trusted
 * program (docs/enclave-protocol.md §8).
 *
 * @example
 * ```ts
 * const session = await ort.InferenceSession.create(bytes, ORT_SESSION_OPTIONS);
 * ```
 */
export const ORT_SESSION_OPTIONS = { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } }, logSeverityLevel: 3 } as const;
