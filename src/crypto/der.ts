/**
 * A small, strict DER (ITU-T X.690 §10) reader and writer: enough for X.509 certificates, CRLs
 * and Intel's SGX PCK certificate extension. No node:crypto here; the module is pure so that
 * parsers elsewhere (src/attest/) may use it.
 *
 * The reader rejects what DER forbids: indefinite lengths, non-minimal length octets, high tag
 * numbers (unused by X.509), and bytes after the outermost value. Strictness matters because a
 * lenient parser lets an attacker change bytes that a signature does not cover.
 */

/** Universal tag numbers used by X.509. */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** One decoded TLV: `tag` is the whole identifier octet; `value` the contents; `raw` the whole TLV. */
export interface DerNode {
  readonly tag: number;
  readonly value: Uint8Array;
  readonly raw: Uint8Array;
}

/** Thrown for malformed DER. A `SyntaxError`: bad input, not an internal failure. */
export class DerError extends SyntaxError {
  override readonly name = 'DerError';
}

/**
 * Reads one TLV at `offset` of `buf`; returns it and the offset after it.
 *
 * @example
 * ```ts
 * const { node } = readTlv(der, 0); // node.tag === Tag.SEQUENCE
 * ```
 */
export function readTlv(buf: Uint8Array, offset: number): { node: DerNode; next: number } {
  if (offset + 2 > buf.length) throw new DerError('DER: truncated tag/length');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('DER: high tag numbers are not supported');
  let len = buf[offset + 1]!;
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError('DER: indefinite length is not DER');
    if (n > 4) throw new DerError('DER: length too large');
    if (p + n > buf.length) throw new DerError('DER: truncated length');
    if (buf[p] === 0) throw new DerError('DER: non-minimal length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    if (len < 0x80) throw new DerError('DER: non-minimal length');
    p += n;
  }
  if (p + len > buf.length) throw new DerError('DER: value runs past the end');
  return { node: { tag, value: buf.subarray(p, p + len), raw: buf.subarray(offset, p + len) }, next: p + len };
}

/** Decodes exactly one TLV spanning all of `buf` (trailing bytes are an error). */
export function decode(buf: Uint8Array): DerNode {
  const { node, next } = readTlv(buf, 0);
  if (next !== buf.length) throw new DerError('DER: trailing bytes after the value');
  return node;
}

/** The children of a constructed node (SEQUENCE, SET, or a constructed context tag). */
export function children(node: DerNode): DerNode[] {
  if ((node.tag & 0x20) === 0) throw new DerError(`DER: tag 0x${node.tag.toString(16)} is not constructed`);
  const out: DerNode[] = [];
  let p = 0;
  while (p < node.value.length) {
    const r = readTlv(node.value, p);
    out.push(r.node);
    p = r.next;
  }
  return out;
}

/** Throws unless `node` has tag `tag`; returns it. */
export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node) throw new DerError(`DER: missing ${what}`);
  if (node.tag !== tag) throw new DerError(`DER: ${what} has tag 0x${node.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  return node;
}

/** Decodes an OBJECT IDENTIFIER's contents to dotted form (`1.2.840.10045.4.3.2`). */
export function decodeOid(value: Uint8Array): string {
  if (value.length === 0) throw new DerError('DER: empty OID');
  const parts: number[] = [];
  let acc = 0;
  for (let i = 0; i < value.length; i++) {
    const b = value[i]!;
    if (acc === 0 && b === 0x80) throw new DerError('DER: non-minimal OID arc');
    acc = acc * 128 + (b & 0x7f);
    if (acc > Number.MAX_SAFE_INTEGER / 128) throw new DerError('DER: OID arc too large');
    if ((b & 0x80) === 0) {
      if (parts.length === 0) {
        const first = acc < 80 ? Math.floor(acc / 40) : 2;
        parts.push(first, acc - first * 40);
      } else parts.push(acc);
      acc = 0;
    } else if (i === value.length - 1) throw new DerError('DER: truncated OID');
  }
  return parts.join('.');
}

/** Decodes a non-negative INTEGER's contents to a bigint (negative values are rejected). */
export function decodeUnsigned(value: Uint8Array): bigint {
  if (value.length === 0) throw new DerError('DER: empty INTEGER');
  if (value[0]! & 0x80) throw new DerError('DER: negative INTEGER');
  if (value.length > 1 && value[0] === 0 && (value[1]! & 0x80) === 0) throw new DerError('DER: non-minimal INTEGER');
  let n = 0n;
  for (const b of value) n = (n << 8n) | BigInt(b);
  return n;
}

/** Decodes a UTCTime (YYMMDDHHMMSSZ, RFC 5280 §4.1.2.5.1) or GeneralizedTime (YYYYMMDDHHMMSSZ). */
export function decodeTime(node: DerNode): Date {
  const s = new TextDecoder().decode(node.value);
  let m: RegExpMatchArray | null;
  let year: number;
  if (node.tag === Tag.UTC_TIME) {
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    if (!m) throw new DerError(`DER: bad UTCTime '${s}'`);
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (node.tag === Tag.GENERALIZED_TIME) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    if (!m) throw new DerError(`DER: bad GeneralizedTime '${s}'`);
    year = Number(m[1]);
  } else throw new DerError(`DER: tag 0x${node.tag.toString(16)} is not a time`);
  const [mo, d, h, mi, se] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  const t = Date.UTC(year, mo - 1, d, h, mi, se);
  const back = new Date(t);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) {
    throw new DerError(`DER: invalid date '${s}'`);
  }
  return back;
}

/** The contents of a BIT STRING with zero unused bits (keys and signatures). */
export function decodeBitStringBytes(node: DerNode): Uint8Array {
  expectTag(node, Tag.BIT_STRING, 'BIT STRING');
  if (node.value.length === 0 || node.value[0] !== 0) throw new DerError('DER: BIT STRING with unused bits');
  return node.value.subarray(1);
}

// ---------------------------------------------------------------- writer

function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** Encodes a TLV from a tag and its contents (or its children, concatenated). */
export function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const size = contents.reduce((a, c) => a + c.length, 0);
  const len = encodeLength(size);
  const out = new Uint8Array(1 + len.length + size);
  out[0] = tag;
  out.set(len, 1);
  let p = 1 + len.length;
  for (const c of contents) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

/** SEQUENCE of the given encoded children. */
export const seq = (...items: Uint8Array[]): Uint8Array => tlv(Tag.SEQUENCE, ...items);
/** SET of the given encoded children (callers pass them in DER order). */
export const set = (...items: Uint8Array[]): Uint8Array => tlv(Tag.SET, ...items);
/** Context-specific constructed tag `[n]` (EXPLICIT) around encoded children. */
export const explicit = (n: number, ...items: Uint8Array[]): Uint8Array => tlv(0xa0 | n, ...items);
/** OCTET STRING. */
export const octetString = (b: Uint8Array): Uint8Array => tlv(Tag.OCTET_STRING, b);
/** BIT STRING with zero unused bits. */
export const bitString = (b: Uint8Array): Uint8Array => tlv(Tag.BIT_STRING, Uint8Array.of(0), b);
/** BOOLEAN (DER: TRUE is 0xff). */
export const boolean = (v: boolean): Uint8Array => tlv(Tag.BOOLEAN, Uint8Array.of(v ? 0xff : 0));
/** UTF8String. */
export const utf8String = (s: string): Uint8Array => tlv(Tag.UTF8_STRING, new TextEncoder().encode(s));

/** INTEGER from a non-negative bigint or big-endian unsigned bytes (minimal, sign-safe). */
export function integer(v: bigint | number | Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (v instanceof Uint8Array) bytes = v;
  else {
    let n = BigInt(v);
    if (n < 0n) throw new RangeError('DER: negative INTEGER is not supported');
    const arr: number[] = [];
    do {
      arr.unshift(Number(n & 0xffn));
      n >>= 8n;
    } while (n > 0n);
    bytes = Uint8Array.from(arr);
  }
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  bytes = bytes.subarray(i);
  return bytes[0]! & 0x80 ? tlv(Tag.INTEGER, Uint8Array.of(0), bytes) : tlv(Tag.INTEGER, bytes);
}

/** OBJECT IDENTIFIER from dotted form. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((x) => {
    if (!/^\d+$/.test(x)) throw new RangeError(`DER: bad OID '${dotted}'`);
    return Number(x);
  });
  if (arcs.length < 2) throw new RangeError(`DER: bad OID '${dotted}'`);
  const out: number[] = [];
  const values = [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)];
  for (const v of values) {
    const chunk: number[] = [v & 0x7f];
    for (let n = Math.floor(v / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift((n & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(Tag.OID, Uint8Array.from(out));
}

/** UTCTime for years 1950..2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5). */
export function time(d: Date): Uint8Array {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const y = d.getUTCFullYear();
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return tlv(Tag.UTC_TIME, new TextEncoder().encode(p(y % 100) + rest));
  return tlv(Tag.GENERALIZED_TIME, new TextEncoder().encode(p(y, 4) + rest));
}
