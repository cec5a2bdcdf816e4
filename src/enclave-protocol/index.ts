/**
 * The enclave protocol codec (docs/enclave-protocol.md): frames, payload primitives, tensors,
 * messages and error codes. Shared by the host and the trusted program.
 *
 * @example
 * ```ts
 * const parts = encodeFrame(MSG.HELLO, 1, encodeHello({ minVersion: 1, maxVersion: 1 }));
 * for (const f of new FrameReader().push(frameBytes(parts))) decodeHello(new PayloadReader(f.body));
 * ```
 */
export * from './frame.ts';
export * from './errors.ts';
export * from './payload.ts';
export * from './tensors.ts';
export * from './messages.ts';
