/**
 * The onnxruntime session options every session of the project starts from, in a module that
 * imports nothing: the trusted program takes them without pulling onnxruntime-node or the ONNX
 * codec into its measured code (docs/enclave-protocol.md §8).
 * @module
 */

/**
 * Thread spinning off, intra-op and inter-op: an idle session (an enclave waiting for its next
 * FORWARD, a head between calls) must not keep a core busy that the one being measured needs.
 */
export const BASE_SESSION_OPTIONS = { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } as const;
