/**
 * The bundle test vectors (docs/bundle-format.md §10): deterministic, small `.enn` files, each
 * with an `expect:` line. `npx tsx src/bundle/vectors.testkit.ts --write` regenerates
 * `testdata/vectors/bundle/`; the tests check the committed files equal what this builds.
 */
import { mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { concatBytes, sha256 } from '../crypto/index.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';
import { canonicalJson } from '../util/canonical-json.ts';
import { assembleBundle } from './create.ts';
import { PREFIX_SIZE, SIGNATURE_SIZE, toHex } from './format.ts';
import { signHeader } from './signature.ts';
import type { BundleHeader, CreateBundleOptions } from './types.ts';

/** What a vector expects (§10). */
export type Expect = 'success' | 'header-failure' | 'head-failure' | 'payload-failure' | 'key-failure' | 'truncated' | 'trailing';

/** One test vector. */
export interface Vector {
  name: string;
  expect: Expect;
  /** The reference implementation's error code (absent for success). */
  code?: string;
  modelKey: Uint8Array;
  /** SHA-256 of the expected tail (success only). */
  tailSha256?: Uint8Array;
  comment: string;
  bundle: Uint8Array;
}

/** Maps a reference error code to its vector category (§10). */
export const EXPECT_BY_CODE: Readonly<Record<string, Expect>> = {
  BUNDLE_MAGIC: 'header-failure', BUNDLE_VERSION: 'header-failure', BUNDLE_HEADER: 'header-failure',
  BUNDLE_HEADER_SIGNATURE: 'header-failure', BUNDLE_PROVIDER_KEY: 'header-failure',
  BUNDLE_HEAD_HASH: 'head-failure', BUNDLE_TRUNCATED: 'truncated', BUNDLE_TRAILING: 'trailing',
  BUNDLE_KEY_MISMATCH: 'key-failure', BUNDLE_TAIL_DECRYPT: 'payload-failure', BUNDLE_TAIL_PADDING: 'payload-failure',
};

const enc = (s: string) => new TextEncoder().encode(s);
/** Deterministic bytes: SHA-256 in counter mode over a label (not secret; vectors only). */
export function detBytes(label: string, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0, o = 0; o < n; i++, o += 32) out.set(sha256(enc(`${label}/${i}`)).subarray(0, Math.min(32, n - o)), o);
  return out;
}

const spec = (name: string, shape: (number | string)[]): TensorSpec => ({ name, dtype: 'float32', shape });
/** The tiny model every vector seals. */
export const VECTOR_MODEL: Omit<CreateBundleOptions, 'tail'> = {
  head: concatBytes(enc('public head ONNX stand-in\n'), detBytes('head', 170)),
  headInputs: [spec('input', ['batch', 4])],
  inputs: [spec('cut:0', ['batch', 8])],
  outputs: [spec('probs', ['batch', 2])],
  modelId: 'test-vector-model',
  bucketMinSize: 1024,
  chunkSize: 256,
};
const TAIL = concatBytes(enc('secret tail ONNX stand-in: node dense_secret_1, op Gemm\n'), detBytes('tail', 600));
const signingKey = sha256(enc('enclave-nn test vector signing key'));
const otherSigningKey = sha256(enc('enclave-nn test vector attacker signing key'));

function secrets(label: string) {
  return { modelKey: sha256(enc(`enclave-nn test vector model key ${label}`)), signingKey, noncePrefix: sha256(enc(`nonce ${label}`)).subarray(0, 7) };
}

/** Splits a bundle into its parts (trusted input: vectors only). */
function parts(b: Uint8Array) {
  const h = new DataView(b.buffer, b.byteOffset).getUint32(12, false);
  const header = b.subarray(PREFIX_SIZE, PREFIX_SIZE + h);
  const json = JSON.parse(new TextDecoder().decode(header)) as BundleHeader;
  const sigEnd = PREFIX_SIZE + h + SIGNATURE_SIZE;
  const headEnd = sigEnd + json.head.size;
  const chunks: Uint8Array[] = [];
  for (let o = headEnd; o < b.byteLength; o += json.tail.chunkSize + 16) chunks.push(b.subarray(o, Math.min(b.byteLength, o + json.tail.chunkSize + 16)));
  return { prefix: b.subarray(0, 12), header, json, sig: b.subarray(PREFIX_SIZE + h, sigEnd), head: b.subarray(sigEnd, headEnd), chunks, headEnd, sigEnd };
}

/** Rebuilds a bundle from a (possibly modified) header text, signed by `key`. */
function resigned(b: Uint8Array, headerText: string, key = signingKey): Uint8Array {
  const p = parts(b);
  const header = enc(headerText);
  const size = new Uint8Array(4);
  new DataView(size.buffer).setUint32(0, header.byteLength, false);
  return concatBytes(p.prefix, size, header, signHeader(key, header), p.head, ...p.chunks);
}

const flip = (b: Uint8Array, i: number, mask = 0x01) => { const c = Uint8Array.from(b); c[i]! ^= mask; return c; };

/** Builds every vector, deterministically. */
export function buildVectors(): Vector[] {
  const s = secrets('basic');
  const good = assembleBundle({ ...VECTOR_MODEL, tail: TAIL }, s).bytes;
  const p = parts(good);
  const v: Vector[] = [];
  const ok = (name: string, comment: string, bundle: Uint8Array, modelKey: Uint8Array, tail: Uint8Array) =>
    v.push({ name, expect: 'success', modelKey, tailSha256: sha256(tail), comment, bundle });
  const bad = (name: string, expect: Expect, code: string, comment: string, bundle: Uint8Array, modelKey = s.modelKey) =>
    v.push({ name, expect, code, modelKey, comment, bundle });
  const headerText = new TextDecoder().decode(p.header);
  const edit = (f: (h: Record<string, unknown>) => void) => { const h = JSON.parse(headerText) as Record<string, unknown>; f(h); return canonicalJson(h); };

  ok('success-basic', 'a 656-byte tail in a 1 KiB bucket, 4 chunks of 256 bytes', good, s.modelKey, TAIL);
  {
    const s2 = secrets('policy');
    const b = assembleBundle({
      ...VECTOR_MODEL, tail: TAIL, modelId: 'vec:policy-1.0',
      policy: { platforms: [{ kind: 'gramine-sgx', measurements: ['aa'.repeat(32), 'bb'.repeat(32)] }, { kind: 'sim', measurements: [] }] },
      licenseServer: 'https://license.example/v1',
    }, s2).bytes;
    ok('success-policy-license', 'with measurements, a license server URL and a non-ASCII-free model id', b, s2.modelKey, TAIL);
  }
  {
    const s3 = secrets('empty');
    ok('success-empty-tail', 'a 0-byte tail: the bucket is still 1 KiB', assembleBundle({ ...VECTOR_MODEL, tail: new Uint8Array(0) }, s3).bytes, s3.modelKey, new Uint8Array(0));
    const full = detBytes('full', 1024 - 8);
    const s4 = secrets('full');
    ok('success-full-bucket', 'a tail of exactly bucket − 8 bytes: no padding', assembleBundle({ ...VECTOR_MODEL, tail: full }, s4).bytes, s4.modelKey, full);
    const s5 = secrets('odd-chunks');
    ok('success-uneven-last-chunk', 'chunk size 384: the last of 3 chunks holds 256 bytes', assembleBundle({ ...VECTOR_MODEL, tail: TAIL, chunkSize: 384 }, s5).bytes, s5.modelKey, TAIL);
  }

  // §7 rows 1–4: framing.
  bad('magic-wrong', 'header-failure', 'BUNDLE_MAGIC', 'second magic byte changed', flip(good, 1));
  bad('magic-text-mode', 'header-failure', 'BUNDLE_MAGIC', 'CR LF turned into LF by a text-mode transfer', concatBytes(good.subarray(0, 4), good.subarray(5)));
  const setU32 = (b: Uint8Array, at: number, n: number) => { const c = Uint8Array.from(b); new DataView(c.buffer).setUint32(at, n, false); return c; };
  bad('version-2', 'header-failure', 'BUNDLE_VERSION', 'framing version 2', setU32(good, 8, 2));
  bad('version-0', 'header-failure', 'BUNDLE_VERSION', 'framing version 0', setU32(good, 8, 0));
  bad('header-size-zero', 'header-failure', 'BUNDLE_HEADER', 'header size 0', setU32(good, 12, 0));
  bad('header-size-huge', 'header-failure', 'BUNDLE_HEADER', 'header size 2^32 − 1', setU32(good, 12, 0xffffffff));
  bad('header-size-plus-one', 'header-failure', 'BUNDLE_HEADER', 'header size one too large: the header swallows a signature byte', setU32(good, 12, p.header.byteLength + 1));
  bad('header-size-minus-one', 'header-failure', 'BUNDLE_HEADER', 'header size one too small: the closing brace is cut off', setU32(good, 12, p.header.byteLength - 1));

  // §7 rows 5–8: header and signature.
  const idAt = PREFIX_SIZE + headerText.indexOf('test-vector-model');
  bad('header-byte-flipped', 'header-failure', 'BUNDLE_HEADER_SIGNATURE', 'one letter of the model id changed, not re-signed', flip(good, idAt, 0x01));
  bad('header-outputs-changed', 'header-failure', 'BUNDLE_HEADER_SIGNATURE', 'output shape changed, not re-signed', resignedWithOriginalSig(good, headerText.replace('["batch",2]', '["batch",3]')));
  bad('signature-flipped', 'header-failure', 'BUNDLE_HEADER_SIGNATURE', 'first signature byte changed', flip(good, p.sigEnd - SIGNATURE_SIZE));
  bad('signature-last-byte', 'header-failure', 'BUNDLE_HEADER_SIGNATURE', 'last signature byte changed', flip(good, p.sigEnd - 1, 0x80));
  bad('signature-zero', 'header-failure', 'BUNDLE_HEADER_SIGNATURE', 'all-zero signature', concatBytes(good.subarray(0, p.sigEnd - SIGNATURE_SIZE), new Uint8Array(SIGNATURE_SIZE), good.subarray(p.sigEnd)));
  bad('header-not-json', 'header-failure', 'BUNDLE_HEADER', 'header bytes are not JSON (signed anyway)', resigned(good, headerText.replace('{', '[')));
  bad('header-whitespace', 'header-failure', 'BUNDLE_HEADER', 'valid JSON with a space, signed: not canonical', resigned(good, headerText.replace('"modelId":', '"modelId": ')));
  bad('header-unsorted-keys', 'header-failure', 'BUNDLE_HEADER', 'keys out of order, signed: not canonical', resigned(good, JSON.stringify({ modelId: p.json.modelId, ...JSON.parse(headerText) })));
  bad('header-duplicate-key', 'header-failure', 'BUNDLE_HEADER', 'modelId twice (parsers may disagree which wins), signed', resigned(good, headerText.replace('"modelId":', '"modelId":"x","modelId":')));
  bad('header-number-spelling', 'header-failure', 'BUNDLE_HEADER', 'formatVersion written 1.0, signed: not canonical', resigned(good, headerText.replace('"formatVersion":1', '"formatVersion":1.0')));
  bad('header-unknown-field', 'header-failure', 'BUNDLE_HEADER', 'an unknown top-level field, canonical and signed', resigned(good, edit((h) => { h.zzz = 'x'; })));
  bad('header-null', 'header-failure', 'BUNDLE_HEADER', 'licenseServer: null, signed', resigned(good, headerText.replace('"modelId"', '"licenseServer":null,"modelId"')));
  bad('header-format-version-2', 'header-failure', 'BUNDLE_HEADER', 'header formatVersion 2 in a version-1 file, signed', resigned(good, edit((h) => { h.formatVersion = 2; })));
  bad('header-chunk-count-wrong', 'header-failure', 'BUNDLE_HEADER', 'chunkCount 3 for a 1 KiB bucket of 256-byte chunks, signed', resigned(good, edit((h) => { (h.tail as Record<string, number>).chunkCount = 3; })));
  bad('header-bad-dtype', 'header-failure', 'BUNDLE_HEADER', 'dtype "float33", signed', resigned(good, headerText.replace('"float32"', '"float33"')));
  bad('header-bad-license-url', 'header-failure', 'BUNDLE_HEADER', 'licenseServer is a file: URL, signed', resigned(good, edit((h) => { h.licenseServer = 'file:///etc/passwd'; })));
  bad('header-empty-policy', 'header-failure', 'BUNDLE_HEADER', 'policy with no platform, signed', resigned(good, edit((h) => { h.policy = { platforms: [] }; })));
  bad('header-control-character', 'header-failure', 'BUNDLE_HEADER', 'an output name with an ESC character (terminal escape), signed', resigned(good, headerText.replace('"probs"', '"probs\\u001b[2J"')));
  bad('header-deep-nesting', 'header-failure', 'BUNDLE_HEADER', 'an unknown field nested 10 000 arrays deep, signed', resigned(good, headerText.replace('"formatVersion"', `"a":${'['.repeat(10000)}${']'.repeat(10000)},"formatVersion"`)));
  bad('header-padded-size-too-large', 'header-failure', 'BUNDLE_HEADER', 'paddedSize 2^40 (chunkCount consistent), signed', resigned(good, edit((h) => { Object.assign(h.tail as object, { paddedSize: 2 ** 40, chunkCount: 2 ** 32 }); })));
  bad('header-padded-size-2gib', 'truncated', 'BUNDLE_TRUNCATED', 'paddedSize 2 GiB (chunkCount consistent), signed: the file is far too short', resigned(good, edit((h) => { Object.assign(h.tail as object, { paddedSize: 2 ** 31, chunkCount: 2 ** 23 }); })));
  {
    // An attacker replaces the provider key and re-signs: the header verifies, but it is a new
    // header, so the AAD differs and the real key cannot open the tail (§4.4).
    const attackerKey = parts(assembleBundle({ ...VECTOR_MODEL, tail: TAIL }, { ...s, signingKey: otherSigningKey }).bytes).json.providerKey;
    const forged = edit((h) => { h.providerKey = attackerKey; h.policy = { platforms: [{ kind: 'evil', measurements: [] }] }; });
    bad('header-resigned-by-attacker', 'payload-failure', 'BUNDLE_TAIL_DECRYPT', 'policy changed and re-signed with another provider key: reads, but chunk 0 does not authenticate (AAD = header hash)', resigned(good, forged, otherSigningKey));
  }

  // §7 row 9: head.
  bad('head-first-byte', 'head-failure', 'BUNDLE_HEAD_HASH', 'first head byte changed', flip(good, p.sigEnd));
  bad('head-last-byte', 'head-failure', 'BUNDLE_HEAD_HASH', 'last head byte changed', flip(good, p.headEnd - 1));

  // §7 rows 10–13: sealed tail.
  const [c0, c1, c2, c3] = p.chunks as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  const withChunks = (...cs: Uint8Array[]) => concatBytes(good.subarray(0, p.headEnd), ...cs);
  bad('tail-first-byte', 'payload-failure', 'BUNDLE_TAIL_DECRYPT', 'first ciphertext byte of chunk 0 changed', flip(good, p.headEnd));
  bad('tail-last-tag-byte', 'payload-failure', 'BUNDLE_TAIL_DECRYPT', 'last tag byte of chunk 3 changed', flip(good, good.byteLength - 1));
  bad('tail-chunk-boundary', 'payload-failure', 'BUNDLE_TAIL_DECRYPT', 'first byte of chunk 1 changed', flip(good, p.headEnd + 272));
  bad('tail-chunks-swapped', 'payload-failure', 'BUNDLE_TAIL_DECRYPT', 'chunks 1 and 2 swapped', withChunks(c0, c2, c1, c3));
  bad('tail-chunk-duplicated', 'payload-failure', 'BUNDLE_TAIL_DECRYPT', 'chunk 1 replaced by a copy of chunk 0', withChunks(c0, c0, c2, c3));
  bad('tail-last-chunk-moved', 'payload-failure', 'BUNDLE_TAIL_DECRYPT', 'chunks 2 and 3 swapped (the last-chunk flag no longer matches)', withChunks(c0, c1, c3, c2));
  bad('tail-chunk-dropped', 'truncated', 'BUNDLE_TRUNCATED', 'chunk 1 removed', withChunks(c0, c2, c3));
  bad('tail-chunk-appended', 'trailing', 'BUNDLE_TRAILING', 'chunk 3 appended again', withChunks(c0, c1, c2, c3, c3));
  bad('trailing-byte', 'trailing', 'BUNDLE_TRAILING', 'one zero byte after the sealed tail', concatBytes(good, new Uint8Array(1)));
  {
    const sp = secrets('bad-padding');
    bad('tail-padding-nonzero', 'payload-failure', 'BUNDLE_TAIL_PADDING', 'a broken writer left a 1 in the padding (authenticated, still refused)',
      assembleBundle({ ...VECTOR_MODEL, tail: TAIL }, { ...sp, insecureMutatePadded: (x) => { x[x.length - 1] = 1; } }).bytes, sp.modelKey);
    const sl = secrets('bad-length');
    bad('tail-length-too-large', 'payload-failure', 'BUNDLE_TAIL_PADDING', 'a broken writer put length = bucket − 7 in the prefix',
      assembleBundle({ ...VECTOR_MODEL, tail: TAIL }, { ...sl, insecureMutatePadded: (x) => { new DataView(x.buffer).setBigUint64(0, BigInt(x.length - 7), false); } }).bytes, sl.modelKey);
  }
  bad('wrong-model-key', 'key-failure', 'BUNDLE_KEY_MISMATCH', 'the model key of another bundle (success-policy-license)', good, secrets('policy').modelKey);

  // §7 row 1: truncation at every section.
  for (const [name, at] of [
    ['empty', 0], ['in-magic', 5], ['in-version', 10], ['in-header-size', 14], ['in-header', PREFIX_SIZE + 100],
    ['in-signature', p.sigEnd - 10], ['in-head', p.sigEnd + 50], ['at-tail', p.headEnd], ['in-tail', p.headEnd + 300], ['last-byte', good.byteLength - 1],
  ] as [string, number][]) {
    bad(`truncated-${name}`, 'truncated', 'BUNDLE_TRUNCATED', `file cut to ${at} bytes`, good.subarray(0, at));
  }
  return v;
}

/** Keeps the original signature over a changed header (the unsigned-change case). */
function resignedWithOriginalSig(b: Uint8Array, headerText: string): Uint8Array {
  const p = parts(b);
  const header = enc(headerText);
  if (header.byteLength !== p.header.byteLength) throw new Error('resignedWithOriginalSig: header size changed');
  return concatBytes(p.prefix, b.subarray(12, 16), header, p.sig, p.head, ...p.chunks);
}

/** Serialises a vector as a file: `key: value` lines, an empty line, the bundle bytes (§10). */
export function encodeVector(v: Vector): Uint8Array {
  const lines = [`expect: ${v.expect}`];
  if (v.code) lines.push(`code: ${v.code}`);
  lines.push(`model key: ${toHex(v.modelKey)}`);
  if (v.tailSha256) lines.push(`tail sha256: ${toHex(v.tailSha256)}`);
  lines.push(`comment: ${v.comment}`);
  return concatBytes(enc(lines.join('\n') + '\n\n'), v.bundle);
}

/** Parses a vector file (§10). */
export function decodeVector(name: string, file: Uint8Array): Omit<Vector, 'comment'> & { comment: string } {
  let end = -1;
  for (let i = 0; i + 1 < file.byteLength; i++) if (file[i] === 10 && file[i + 1] === 10) { end = i; break; }
  if (end < 0) throw new SyntaxError(`vector ${name}: no blank line after the preamble`);
  const fields = new Map(new TextDecoder().decode(file.subarray(0, end)).split('\n').map((l) => {
    const k = l.indexOf(': ');
    return [l.slice(0, k), l.slice(k + 2)] as [string, string];
  }));
  const hex = (s: string | undefined) => (s === undefined ? undefined : new Uint8Array(Buffer.from(s, 'hex')));
  return {
    name,
    expect: fields.get('expect') as Expect,
    code: fields.get('code'),
    modelKey: hex(fields.get('model key'))!,
    tailSha256: hex(fields.get('tail sha256')),
    comment: fields.get('comment') ?? '',
    bundle: file.subarray(end + 2),
  };
}

// `npx tsx src/bundle/vectors.testkit.ts --write` regenerates the committed files.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/')) && process.argv.includes('--write')) {
  const dir = new URL('../../testdata/vectors/bundle/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (!f.includes('.')) unlinkSync(new URL(f, dir));
  let total = 0;
  const vectors = buildVectors();
  for (const v of vectors) {
    const bytes = encodeVector(v);
    total += bytes.byteLength;
    writeFileSync(new URL(v.name, dir), bytes);
  }
  console.log(`wrote ${vectors.length} vectors, ${total} bytes, to ${dir.pathname}`);
}
