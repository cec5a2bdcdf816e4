/**
 * Payloads of every message (docs/enclave-protocol.md §4), as pairs of `encode…` (→ payload
 * parts) and `decode…` (PayloadReader → value, which checks that nothing is left over).
 */
import type { TensorData } from '../onnx/ort.ts';
import { ERROR_CODES, errorNameOf, ProtocolError, type ProtocolErrorName } from './errors.ts';
import { PayloadReader, PayloadWriter } from './payload.ts';
import { readTensors, writeTensors } from './tensors.ts';

/** Nonce sizes ATTEST accepts (§4.2). */
export const NONCE_MIN_SIZE = 16;
/** Largest ATTEST nonce (§4.2). */
export const NONCE_MAX_SIZE = 64;

/** HELLO (§4.1). */
export interface Hello { minVersion: number; maxVersion: number }
/** HELLO_OK (§4.1). */
export interface HelloOk { version: number; platformKind: string; measurement: Uint8Array; engine: string; maxFrameSize: number }
/** ATTEST_OK (§4.2). */
export interface AttestOk { publicKey: Uint8Array; evidence: Uint8Array }
/** PROVISION (§4.3). */
export interface Provision { modelId: string; wrapped: Uint8Array }
/** LOAD_BEGIN (§4.4). */
export interface LoadBegin { header: Uint8Array; signature: Uint8Array }
/** LOAD_CHUNK (§4.4). */
export interface LoadChunk { last: boolean; chunk: Uint8Array }
/** FORWARD_OK (§4.5). */
export interface ForwardOk { computeNs: bigint; outputs: Record<string, TensorData> }
/** ERROR (§6). */
export interface ErrorBody { name: ProtocolErrorName; code: number; message: string }

const w = () => new PayloadWriter();

/** @internal */ export const encodeHello = (m: Hello) => w().u16(m.minVersion).u16(m.maxVersion).finish();
/** @internal */ export function decodeHello(r: PayloadReader): Hello { const m = { minVersion: r.u16('minVersion'), maxVersion: r.u16('maxVersion') }; r.end(); return m; }

/** @internal */ export const encodeHelloOk = (m: HelloOk) => w().u16(m.version).str(m.platformKind).bytes(m.measurement).str(m.engine).u32(m.maxFrameSize).finish();
/** @internal */ export function decodeHelloOk(r: PayloadReader): HelloOk {
  const m = { version: r.u16(), platformKind: r.str('platform kind'), measurement: r.bytes('measurement').slice(), engine: r.str('engine'), maxFrameSize: r.u32() };
  r.end();
  return m;
}

/** @internal */ export const encodeAttest = (nonce: Uint8Array) => w().bytes(nonce).finish();
/** @internal */ export function decodeAttest(r: PayloadReader): Uint8Array {
  const nonce = r.bytes('nonce').slice();
  r.end();
  if (nonce.byteLength < NONCE_MIN_SIZE || nonce.byteLength > NONCE_MAX_SIZE) {
    throw new ProtocolError('BAD_PAYLOAD', `Cannot attest: the nonce is ${nonce.byteLength} bytes, not ${NONCE_MIN_SIZE}–${NONCE_MAX_SIZE}`);
  }
  return nonce;
}

/** @internal */ export const encodeAttestOk = (m: AttestOk) => w().bytes(m.publicKey).bytes(m.evidence).finish();
/** @internal */ export function decodeAttestOk(r: PayloadReader): AttestOk { const m = { publicKey: r.bytes('public key').slice(), evidence: r.bytes('evidence').slice() }; r.end(); return m; }

/** @internal */ export const encodeProvision = (m: Provision) => w().str(m.modelId).bytes(m.wrapped).finish();
/** @internal */ export function decodeProvision(r: PayloadReader): Provision { const m = { modelId: r.str('model id'), wrapped: r.bytes('wrapped key') }; r.end(); return m; }

/** @internal */ export const encodeLoadBegin = (m: LoadBegin) => w().bytes(m.header).bytes(m.signature).finish();
/** @internal */ export function decodeLoadBegin(r: PayloadReader): LoadBegin { const m = { header: r.bytes('header'), signature: r.bytes('signature') }; r.end(); return m; }

/** @internal */ export const encodeLoadChunk = (m: LoadChunk) => w().u8(m.last ? 1 : 0).bytes(m.chunk).finish();
/** @internal */ export function decodeLoadChunk(r: PayloadReader): LoadChunk {
  const flag = r.u8('last flag');
  if (flag > 1) throw new ProtocolError('BAD_PAYLOAD', `Cannot read chunk: last flag ${flag} is not 0 or 1`);
  const m = { last: flag === 1, chunk: r.bytes('chunk') };
  r.end();
  return m;
}

/** @internal */ export const encodeU8 = (v: number) => w().u8(v).finish();
/** @internal */ export const encodeU32 = (v: number) => w().u32(v).finish();
/** @internal */ export function decodeU8(r: PayloadReader): number { const v = r.u8(); r.end(); return v; }
/** @internal */ export function decodeU32(r: PayloadReader): number { const v = r.u32(); r.end(); return v; }
/** @internal */ export const encodeStr = (s: string) => w().str(s).finish();
/** @internal */ export function decodeStr(r: PayloadReader): string { const s = r.str(); r.end(); return s; }
/** @internal */ export const encodeBytes = (b: Uint8Array) => w().bytes(b).finish();
/** @internal */ export function decodeBytes(r: PayloadReader): Uint8Array { const b = r.bytes().slice(); r.end(); return b; }
/** @internal */ export function decodeEmpty(r: PayloadReader): void { r.end(); }

/** @internal */ export function encodeForward(feeds: Record<string, TensorData>): Uint8Array[] { const x = w(); writeTensors(x, feeds); return x.finish(); }
/** @internal */ export function decodeForward(r: PayloadReader): Record<string, TensorData> { const t = readTensors(r); r.end(); return t; }

/** @internal */ export function encodeForwardOk(m: ForwardOk): Uint8Array[] { const x = w().u64(m.computeNs); writeTensors(x, m.outputs); return x.finish(); }
/** @internal */ export function decodeForwardOk(r: PayloadReader): ForwardOk { const computeNs = r.u64('compute time'); const outputs = readTensors(r); r.end(); return { computeNs, outputs }; }

/** @internal */ export const encodeError = (name: ProtocolErrorName, message: string) => w().u16(ERROR_CODES[name]).str(message.slice(0, 2000)).finish();
/** @internal */ export function decodeError(r: PayloadReader): ErrorBody { const code = r.u16('code'); const message = r.str('message'); r.end(); return { code, name: errorNameOf(code), message }; }
