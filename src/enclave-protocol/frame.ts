import { concatBytes } from '../crypto/hash.ts';
/**
 * Frames of the enclave protocol (docs/enclave-protocol.md §2):
 * `u32 L ‖ u8 type ‖ u32 request id ‖ payload`, little-endian, 5 ≤ L ≤ MAX_FRAME_SIZE.
 */
import { ProtocolError } from './errors.ts';

/** The protocol version this code speaks (§3). */
export const PROTOCOL_VERSION = 1;
/** Largest frame length L (§2): 64 MiB; a receiver checks L before allocating. */
export const MAX_FRAME_SIZE = 64 * 1024 * 1024;
/** Bytes before the payload, counted from the length field: u32 L ‖ u8 type ‖ u32 id. */
export const FRAME_PREFIX_SIZE = 9;

/** Message types (§4). Requests 0x01–0x3F, responses request | 0x80, 0x7F = ERROR. */
export const MSG = {
  HELLO: 0x01, ATTEST: 0x02, PROVISION: 0x03, LOAD_BEGIN: 0x04, LOAD_CHUNK: 0x05,
  FORWARD: 0x06, STATUS: 0x07, SEAL: 0x08, UNSEAL: 0x09, CLOSE: 0x0a,
  ERROR: 0x7f,
} as const;

/** The response type of a request type. */
export const OK = (requestType: number): number => requestType | 0x80;

/** A decoded frame. `body` starts at the type byte (offset 0 of its own allocation: aligned). */
export interface Frame {
  type: number;
  id: number;
  /** type ‖ id ‖ payload; the payload starts at offset 5. */
  body: Uint8Array;
}

/**
 * Encodes a frame: returns the parts to write in order (the 9-byte prefix, then the payload
 * parts, which are not copied). Throws RangeError when the frame would exceed MAX_FRAME_SIZE.
 */
export function encodeFrame(type: number, id: number, payload: readonly Uint8Array[]): Uint8Array[] {
  let size = 0;
  for (const p of payload) size += p.byteLength;
  const L = 5 + size;
  if (L > MAX_FRAME_SIZE) throw new RangeError(`Cannot send message type 0x${type.toString(16)}: ${L} bytes exceeds the ${MAX_FRAME_SIZE}-byte frame limit`);
  const prefix = new Uint8Array(FRAME_PREFIX_SIZE);
  const v = new DataView(prefix.buffer);
  v.setUint32(0, L, true);
  v.setUint8(4, type);
  v.setUint32(5, id, true);
  return [prefix, ...payload];
}

/** Concatenates frame parts into one buffer (tests, small frames). */
export function frameBytes(parts: readonly Uint8Array[]): Uint8Array {
  return concatBytes(...parts);
}

/**
 * Incremental frame parser: push bytes as they arrive, get complete frames back. Allocates one
 * buffer per frame, after checking its length (§2). A bad length throws
 * `ProtocolError('BAD_FRAME')`; the stream cannot be resynchronised after that.
 */
export class FrameReader {
  #head = new Uint8Array(4);
  #headLen = 0;
  #body: Uint8Array | null = null;
  #bodyLen = 0;
  readonly #max: number;

  /** @param maxFrameSize the largest L accepted @defaultValue MAX_FRAME_SIZE */
  constructor(maxFrameSize = MAX_FRAME_SIZE) {
    this.#max = maxFrameSize;
  }

  /** True when bytes of an unfinished frame are buffered (end of input now = a truncated frame). */
  get pending(): boolean { return this.#headLen > 0 || this.#body !== null; }

  /** Consumes `chunk`; returns the frames it completed. */
  push(chunk: Uint8Array): Frame[] {
    const out: Frame[] = [];
    let i = 0;
    while (i < chunk.byteLength) {
      if (this.#body === null) {
        const n = Math.min(4 - this.#headLen, chunk.byteLength - i);
        this.#head.set(chunk.subarray(i, i + n), this.#headLen);
        this.#headLen += n;
        i += n;
        if (this.#headLen < 4) break;
        const L = new DataView(this.#head.buffer).getUint32(0, true);
        if (L < 5 || L > this.#max) throw new ProtocolError('BAD_FRAME', `Cannot read frame: length ${L} is outside 5..${this.#max}`);
        this.#body = new Uint8Array(L);
        this.#bodyLen = 0;
      }
      const n = Math.min(this.#body.byteLength - this.#bodyLen, chunk.byteLength - i);
      this.#body.set(chunk.subarray(i, i + n), this.#bodyLen);
      this.#bodyLen += n;
      i += n;
      if (this.#bodyLen === this.#body.byteLength) {
        const body = this.#body;
        const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
        out.push({ type: body[0]!, id: v.getUint32(1, true), body });
        this.#body = null;
        this.#headLen = 0;
      }
    }
    return out;
  }
}
