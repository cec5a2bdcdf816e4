/**
 * The host's FORWARD fast path (issue 14, item 1): a session sends the same tensor layout —
 * names, dtypes, dims — on every call, so everything of the frame but its request id and the
 * tensor data is computed once: a small frame is one allocation, a copy per tensor and one
 * write; a large one the prebuilt headers between the tensors' own, uncopied buffers. No payload
 * writer, no per-call name encoding. The bytes
 * are exactly {@link encodeFrame}(FORWARD, id, {@link encodeForward}(feeds)) (§2, §4.5, §5): the
 * template is made by that encoder and checked against the offsets computed here.
 * @module
 */
import type { TensorData } from '../onnx/ort.ts';
import { DTYPE_SIZE, type DType } from '../onnx/tensor-spec.ts';
import { encodeFrame, FRAME_PREFIX_SIZE, frameBytes, MSG } from './frame.ts';
import { encodeForward } from './messages.ts';
import { elementCount } from './tensors.ts';

const utf8 = new TextEncoder();

interface Slot { name: string; dtype: DType; dims: readonly number[]; count: number; offset: number; byteLength: number }

/**
 * FORWARD frames for one tensor layout. {@link encode} returns undefined for feeds of another
 * layout (the caller then uses the general encoder, which also validates them).
 *
 * @example
 * ```ts
 * const enc = ForwardFrameEncoder.for(feeds);
 * for (const part of enc.encode(feeds, 7)!) stdin.write(part);   // = encodeFrame(MSG.FORWARD, 7, encodeForward(feeds)), concatenated
 * ```
 */
export class ForwardFrameEncoder {
  /** The frame's bytes outside the data: segment i ends where tensor i's data begins. */
  readonly #segments: Uint8Array[];
  readonly #slots: Slot[];
  readonly #total: number;

  private constructor(segments: Uint8Array[], slots: Slot[], total: number) {
    this.#segments = segments;
    this.#slots = slots;
    this.#total = total;
  }

  /** The encoder for the layout of `feeds` (their data does not matter). Throws as `encodeForward` does for tensors the wire cannot carry. */
  static for(feeds: Record<string, TensorData>): ForwardFrameEncoder {
    const slots: Slot[] = [];
    let pos = FRAME_PREFIX_SIZE + 2; // u32 length ‖ u8 type ‖ u32 id, then u16 tensor count
    for (const [name, t] of Object.entries(feeds)) {
      pos += 2 + utf8.encode(name).byteLength + 2 + 4 * t.dims.length; // str, dtype code, rank, dims
      pos += (8 - ((pos - 4) % 8)) % 8; // pad8, counted from the type byte (§5)
      const count = elementCount(t.dims);
      const byteLength = count * DTYPE_SIZE[t.dtype];
      slots.push({ name, dtype: t.dtype, dims: [...t.dims], count, offset: pos, byteLength });
      pos += byteLength;
    }
    // The header bytes come from the general encoder (request id 0), so both paths cannot drift
    // apart; the offsets computed above must describe that frame exactly.
    const template = frameBytes(encodeFrame(MSG.FORWARD, 0, encodeForward(feeds)));
    if (template.byteLength !== pos) throw new Error(`ForwardFrameEncoder: computed ${pos} bytes, the encoder wrote ${template.byteLength}`);
    let from = 0;
    const segments = slots.map((s) => { const seg = template.slice(from, s.offset); from = s.offset + s.byteLength; return seg; });
    if (slots.length === 0) segments.push(template.slice());
    return new ForwardFrameEncoder(segments, slots, pos);
  }

  /**
   * The FORWARD frame for request `id` — one buffer up to {@link ONE_BUFFER_MAX} bytes (one
   * write), else the prebuilt headers between the tensors' own buffers, uncopied (a copy of
   * large data costs more than the writes it saves) — or undefined when `feeds` have another layout.
   */
  encode(feeds: Record<string, TensorData>, id: number): Uint8Array[] | undefined {
    const slots = this.#slots;
    let i = 0;
    for (const name in feeds) {
      const s = slots[i++];
      const t = feeds[name]!;
      if (s === undefined || s.name !== name || s.dtype !== t.dtype || s.dims.length !== t.dims.length
        || t.data.length !== s.count || t.data.byteLength !== s.byteLength) return undefined;
      for (let d = 0; d < s.dims.length; d++) if (s.dims[d] !== t.dims[d]) return undefined;
    }
    if (i !== slots.length) return undefined;
    const segs = this.#segments;
    const bytesOf = (s: Slot) => { const d = feeds[s.name]!.data; return new Uint8Array(d.buffer, d.byteOffset, d.byteLength); };
    if (this.#total <= ONE_BUFFER_MAX) {
      const frame = new Uint8Array(this.#total);
      let at = 0;
      for (let k = 0; k < slots.length; k++) {
        frame.set(segs[k]!, at);
        frame.set(bytesOf(slots[k]!), slots[k]!.offset);
        at = slots[k]!.offset + slots[k]!.byteLength;
      }
      if (slots.length === 0) frame.set(segs[0]!);
      setId(frame, id);
      return [frame];
    }
    const first = segs[0]!.slice();
    setId(first, id);
    const parts: Uint8Array[] = [first];
    for (let k = 0; k < slots.length; k++) {
      if (k > 0 && segs[k]!.byteLength > 0) parts.push(segs[k]!);
      if (slots[k]!.byteLength > 0) parts.push(bytesOf(slots[k]!));
    }
    return parts;
  }
}

/** Frames up to this size go out as one buffer: copying them is cheaper than a second write. */
export const ONE_BUFFER_MAX = 16 * 1024;

function setId(frame: Uint8Array, id: number): void {
  new DataView(frame.buffer, frame.byteOffset, frame.byteLength).setUint32(5, id, true);
}
