/**
 * Enclave protocol test vectors (docs/enclave-protocol.md §9, STYLE.md 2): what an enclave MUST
 * answer to malformed or out-of-order input. Each file in testdata/vectors/enclave-protocol/ is
 * a preamble of `key: value` lines, an empty line, then the raw bytes to write to a fresh
 * enclave's stdin (after HELLO when `state: hello`):
 *
 * ```
 * expect: error <NAME> <code> | ok 0x<type> | exit      (code: the §6 number on the wire)
 * id: <request id the answer must carry>        (not for exit)
 * state: new | hello
 * then: exit | alive                            (after the answer: the enclave exits 0, or still answers STATUS)
 * comment: …
 * ```
 *
 * `npx tsx src/enclave-protocol/vectors.testkit.ts --write` regenerates the committed files.
 */
import { mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { ERROR_CODES, type ProtocolErrorName } from './errors.ts';
import { MSG, MAX_FRAME_SIZE, encodeFrame, frameBytes } from './frame.ts';
import { PayloadWriter } from './payload.ts';
import { encodeAttest, encodeBytes, encodeHello, encodeLoadChunk } from './messages.ts';

/** One vector. */
export interface ProtocolVector {
  name: string;
  expect: { kind: 'error'; name: ProtocolErrorName; code: number } | { kind: 'ok'; type: number } | { kind: 'exit' };
  id?: number;
  state: 'new' | 'hello';
  then: 'exit' | 'alive';
  comment: string;
  bytes: Uint8Array;
}

const frame = (type: number, id: number, payload: Uint8Array[] = []) => frameBytes(encodeFrame(type, id, payload));
const len = (n: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };
const err = (name: ProtocolErrorName) => ({ kind: 'error' as const, name, code: ERROR_CODES[name] });

/** Every vector, deterministically. */
export function buildVectors(): ProtocolVector[] {
  const v = (name: string, expect: ProtocolVector['expect'], state: ProtocolVector['state'], bytes: Uint8Array, comment: string, then: ProtocolVector['then'] = 'alive', id?: number): ProtocolVector =>
    ({ name, expect, state, then, comment, bytes, id: expect.kind === 'exit' ? undefined : id ?? new DataView(bytes.buffer, bytes.byteOffset).getUint32(5, true) });
  const forward = (w: PayloadWriter) => frame(MSG.FORWARD, 21, w.finish());
  return [
    v('unknown-type-0x3e', err('UNKNOWN_TYPE'), 'hello', frame(0x3e, 7), 'a request type version 1 does not know'),
    v('reserved-license-type-0x1f', err('UNKNOWN_TYPE'), 'hello', frame(0x1f, 8, [new Uint8Array(3)]), 'license range, not in use: unknown'),
    v('response-type-0x81', err('UNKNOWN_TYPE'), 'hello', frame(0x81, 9), 'a response type sent as a request'),
    v('error-type-0x7f', err('UNKNOWN_TYPE'), 'hello', frame(MSG.ERROR, 10), 'an ERROR frame sent as a request'),
    v('type-0xff', err('UNKNOWN_TYPE'), 'hello', frame(0xff, 11, [Uint8Array.of(1, 2, 3)]), 'grease'),
    v('hello-no-common-version', err('VERSION'), 'new', frame(MSG.HELLO, 1, encodeHello({ minVersion: 2, maxVersion: 7 })), 'host speaks 2..7 only'),
    v('hello-ok', { kind: 'ok', type: 0x81 }, 'new', frame(MSG.HELLO, 2, encodeHello({ minVersion: 1, maxVersion: 9 })), 'a range containing 1'),
    v('hello-twice', err('STATE'), 'hello', frame(MSG.HELLO, 3, encodeHello({ minVersion: 1, maxVersion: 1 })), 'a second HELLO'),
    v('attest-before-hello', err('STATE'), 'new', frame(MSG.ATTEST, 4, encodeAttest(new Uint8Array(32))), 'nothing but HELLO/STATUS/CLOSE before HELLO'),
    v('forward-before-load', err('STATE'), 'hello', forward(new PayloadWriter().u16(0)), 'FORWARD before LOAD'),
    v('provision-without-attest', err('STATE'), 'hello', frame(MSG.PROVISION, 22, new PayloadWriter().str('m').bytes(new Uint8Array(80)).finish()), 'PROVISION needs a fresh ATTEST'),
    v('load-chunk-before-begin', err('STATE'), 'hello', frame(MSG.LOAD_CHUNK, 23, encodeLoadChunk({ last: true, chunk: new Uint8Array(32) })), 'LOAD_CHUNK outside loading'),
    v('seal-before-provision', err('STATE'), 'hello', frame(MSG.SEAL, 24), 'nothing to seal'),
    v('attest-nonce-too-short', err('BAD_PAYLOAD'), 'hello', frame(MSG.ATTEST, 30, encodeAttest(new Uint8Array(15))), 'nonce < 16 bytes'),
    v('attest-nonce-too-long', err('BAD_PAYLOAD'), 'hello', frame(MSG.ATTEST, 31, encodeAttest(new Uint8Array(65))), 'nonce > 64 bytes'),
    v('attest-truncated-payload', err('BAD_PAYLOAD'), 'hello', frame(MSG.ATTEST, 32, [len(32), new Uint8Array(10)]), 'bytes field longer than the payload'),
    v('status-trailing-byte', err('BAD_PAYLOAD'), 'hello', frame(MSG.STATUS, 33, [new Uint8Array(1)]), 'bytes after the last field'),
    v('provision-model-id-not-utf8', err('BAD_PAYLOAD'), 'hello', frame(MSG.PROVISION, 34, [Uint8Array.of(2, 0, 0xc3, 0x28), ...new PayloadWriter().bytes(new Uint8Array(60)).finish()]), 'a str that is not UTF-8'),
    v('forward-nonzero-padding', err('BAD_PAYLOAD'), 'hello', forward(new PayloadWriter().u16(1).str('xy').u8(1).u8(1).u32(1).u8(1).raw(new Uint8Array(6)).raw(new Uint8Array(4))), 'pad8 bytes must be zero'),
    v('forward-unknown-dtype', err('BAD_PAYLOAD'), 'hello', forward(new PayloadWriter().u16(1).str('x').u8(8).u8(0)), 'dtype code 8 (string) is not on the wire'),
    v('forward-rank-9', err('BAD_PAYLOAD'), 'hello', forward(new PayloadWriter().u16(1).str('x').u8(1).u8(9)), 'rank > 8'),
    v('forward-short-data', err('BAD_PAYLOAD'), 'hello', forward(new PayloadWriter().u16(1).str('x').u8(1).u8(1).u32(4).pad8().raw(new Uint8Array(12))), '4 float32 need 16 bytes'),
    v('unseal-garbage', err('SEAL'), 'hello', frame(MSG.UNSEAL, 40, encodeBytes(Uint8Array.from({ length: 80 }, (_, i) => i))), 'not a sealed blob of this installation'),
    v('length-below-5', err('BAD_FRAME'), 'hello', len(4), 'L < 5: cannot hold type and id', 'exit', 0),
    v('length-above-max', err('BAD_FRAME'), 'hello', len(MAX_FRAME_SIZE + 1), 'L > 64 MiB: refused before allocating', 'exit', 0),
    v('length-all-ones', err('BAD_FRAME'), 'hello', len(0xffffffff), 'L = 2^32 − 1', 'exit', 0),
    v('truncated-frame', { kind: 'exit' }, 'hello', frame(MSG.ATTEST, 50, encodeAttest(new Uint8Array(32))).subarray(0, 20), 'end of input inside a frame: clean exit', 'exit'),
    v('close', { kind: 'ok', type: 0x8a }, 'hello', frame(MSG.CLOSE, 51), 'CLOSE answers, then exits 0', 'exit'),
  ];
}

/** The file bytes of a vector. */
export function encodeVector(v: ProtocolVector): Uint8Array {
  const expect = v.expect.kind === 'error' ? `error ${v.expect.name} ${v.expect.code}` : v.expect.kind === 'ok' ? `ok 0x${v.expect.type.toString(16)}` : 'exit';
  const lines = [`expect: ${expect}`, ...(v.id === undefined ? [] : [`id: ${v.id}`]), `state: ${v.state}`, `then: ${v.then}`, `comment: ${v.comment}`];
  const head = new TextEncoder().encode(lines.join('\n') + '\n\n');
  const out = new Uint8Array(head.byteLength + v.bytes.byteLength);
  out.set(head);
  out.set(v.bytes, head.byteLength);
  return out;
}

/** Parses a vector file. */
export function decodeVector(name: string, file: Uint8Array): ProtocolVector {
  let i = 0;
  while (i + 1 < file.byteLength && !(file[i] === 0x0a && file[i + 1] === 0x0a)) i++;
  const fields = Object.fromEntries(new TextDecoder().decode(file.subarray(0, i)).split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
  const [kind, arg, code] = String(fields.expect).split(' ');
  const expect: ProtocolVector['expect'] = kind === 'error' ? { kind, name: arg as ProtocolErrorName, code: Number(code) } : kind === 'ok' ? { kind, type: Number(arg) } : { kind: 'exit' };
  if (expect.kind === 'error' && !Number.isInteger(expect.code)) throw new SyntaxError(`${name}: 'expect: error ${expect.name}' lacks the numeric code`);
  return {
    name, expect, id: fields.id === undefined ? undefined : Number(fields.id), state: fields.state as ProtocolVector['state'],
    then: fields.then as ProtocolVector['then'], comment: fields.comment ?? '', bytes: file.subarray(i + 2),
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/')) && process.argv.includes('--write')) {
  const dir = new URL('../../testdata/vectors/enclave-protocol/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (!f.includes('.')) unlinkSync(new URL(f, dir));
  for (const v of buildVectors()) writeFileSync(new URL(v.name, dir), encodeVector(v));
  console.log(`wrote ${buildVectors().length} vectors to ${dir.pathname}`);
}
