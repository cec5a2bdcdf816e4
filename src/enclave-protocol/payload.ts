/**
 * Payload primitives of the enclave protocol (docs/enclave-protocol.md §2.1): little-endian
 * integers, `bytes` (u32 size), `str` (u16 size, UTF-8), `pad8` (alignment counted from the
 * frame's type byte). The writer keeps large buffers as separate parts, so a tensor's data is
 * handed to the pipe without a copy.
 */
import { ProtocolError } from './errors.ts';

// Buffers of at least this size become their own part (written with writev, never copied).
const SMALL = 1024;
const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * Builds a payload. `offset` starts at 5 (type byte + request id precede the payload) so that
 * `pad8` aligns relative to the type byte (§2.1).
 *
 * @example
 * ```ts
 * const w = new PayloadWriter();
 * w.u16(1).str('sim').bytes(measurement);
 * const parts = w.finish();
 * ```
 */
export class PayloadWriter {
  readonly #parts: Uint8Array[] = [];
  #buf = new Uint8Array(128);
  #view = new DataView(this.#buf.buffer);
  #len = 0;
  /** Bytes written so far, counted from the frame's type byte. */
  offset = 5;

  #room(n: number): void {
    if (this.#len + n <= this.#buf.byteLength) return;
    const next = new Uint8Array(Math.max(this.#buf.byteLength * 2, this.#len + n));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** Appends a u8. */
  u8(v: number): this { this.#room(1); this.#view.setUint8(this.#len, v); this.#len += 1; this.offset += 1; return this; }
  /** Appends a u16 LE. */
  u16(v: number): this { this.#room(2); this.#view.setUint16(this.#len, v, true); this.#len += 2; this.offset += 2; return this; }
  /** Appends a u32 LE. */
  u32(v: number): this { this.#room(4); this.#view.setUint32(this.#len, v, true); this.#len += 4; this.offset += 4; return this; }
  /** Appends a u64 LE (a safe integer or bigint). */
  u64(v: number | bigint): this { this.#room(8); this.#view.setBigUint64(this.#len, BigInt(v), true); this.#len += 8; this.offset += 8; return this; }

  /** Appends raw bytes (large ones as their own part: no copy). */
  raw(b: Uint8Array): this {
    if (b.byteLength >= SMALL) {
      this.#flush();
      this.#parts.push(b);
    } else {
      this.#room(b.byteLength);
      this.#buf.set(b, this.#len);
      this.#len += b.byteLength;
    }
    this.offset += b.byteLength;
    return this;
  }

  /** Appends `bytes` = u32 size ‖ bytes. */
  bytes(b: Uint8Array): this { return this.u32(b.byteLength).raw(b); }

  /** Appends `str` = u16 size ‖ UTF-8. */
  str(s: string): this {
    const b = utf8.encode(s);
    if (b.byteLength > 0xffff) throw new RangeError(`protocol string too long (${b.byteLength} bytes)`);
    return this.u16(b.byteLength).raw(b);
  }

  /** Appends zero bytes up to the next multiple of 8 from the type byte. */
  pad8(): this {
    const n = (8 - (this.offset % 8)) % 8;
    for (let i = 0; i < n; i++) this.u8(0);
    return this;
  }

  #flush(): void {
    if (this.#len === 0) return;
    this.#parts.push(this.#buf.slice(0, this.#len));
    this.#len = 0;
  }

  /** The payload as parts (concatenate them, or write them in order). */
  finish(): Uint8Array[] {
    this.#flush();
    return this.#parts;
  }
}

/**
 * Reads a payload from a frame body (`body[0]` = the type byte, payload from offset 5).
 * Every read checks bounds and throws `ProtocolError('BAD_PAYLOAD')`.
 */
export class PayloadReader {
  readonly #body: Uint8Array;
  readonly #view: DataView;
  #pos: number;

  /** @param body the frame body: type ‖ request id ‖ payload */
  constructor(body: Uint8Array, start = 5) {
    this.#body = body;
    this.#view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    this.#pos = start;
  }

  #need(n: number, what: string): number {
    if (this.#pos + n > this.#body.byteLength) throw new ProtocolError('BAD_PAYLOAD', `Cannot read ${what}: the payload ends early`);
    const p = this.#pos;
    this.#pos += n;
    return p;
  }

  /** Reads a u8. */
  u8(what = 'u8'): number { return this.#view.getUint8(this.#need(1, what)); }
  /** Reads a u16. */
  u16(what = 'u16'): number { return this.#view.getUint16(this.#need(2, what), true); }
  /** Reads a u32. */
  u32(what = 'u32'): number { return this.#view.getUint32(this.#need(4, what), true); }
  /** Reads a u64 as a bigint. */
  u64(what = 'u64'): bigint { return this.#view.getBigUint64(this.#need(8, what), true); }
  /** A view of the next `n` bytes (no copy). */
  raw(n: number, what = 'bytes'): Uint8Array { const p = this.#need(n, what); return this.#body.subarray(p, p + n); }
  /** Reads `bytes` (a view, no copy). */
  bytes(what = 'bytes'): Uint8Array { return this.raw(this.u32(what), what); }

  /** Reads `str` (strict UTF-8). */
  str(what = 'string'): string {
    const b = this.raw(this.u16(what), what);
    try { return utf8Strict.decode(b); } catch { throw new ProtocolError('BAD_PAYLOAD', `Cannot read ${what}: not valid UTF-8`); }
  }

  /** Skips `pad8`, requiring zero bytes. The frame body starts at the type byte, offset 0. */
  pad8(): void {
    const n = (8 - (this.#pos % 8)) % 8;
    const b = this.raw(n, 'padding');
    if (b.some((x) => x !== 0)) throw new ProtocolError('BAD_PAYLOAD', 'Cannot read padding: it is not zero');
  }

  /** Absolute position in the body (for typed-array views). */
  get position(): number { return this.#pos; }

  /** The body this reader reads. */
  get body(): Uint8Array { return this.#body; }

  /** Throws unless every byte was read. */
  end(): void {
    if (this.#pos !== this.#body.byteLength) throw new ProtocolError('BAD_PAYLOAD', `Cannot read payload: ${this.#body.byteLength - this.#pos} bytes left after its last field`);
  }
}
