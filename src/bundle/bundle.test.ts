import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEd25519KeyPair, randomBytes, sha256 } from '../crypto/index.ts';
import { isErrorCode } from '../errors.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';
import {
  bucketSize, createBundle, decodeProviderKeyFile, encodeProviderKeyFile, openSealedTail, policyAccepts,
  readBundle, readBundleFile, TailOpener, writeBundleFile, writeProviderKeyFile, type CreateBundleOptions,
} from './index.ts';
import { canonicalJson, parseCanonicalJson } from '../util/canonical-json.ts';
import { padTail, unpadTail } from './padding.ts';

const spec = (name: string, shape: (number | string)[]): TensorSpec => ({ name, dtype: 'float32', shape });
const model = (tail: Uint8Array, extra: Partial<CreateBundleOptions> = {}): CreateBundleOptions => ({
  head: randomBytes(1000), tail, headInputs: [spec('x', ['batch', 784])], inputs: [spec('h', ['batch', 128])],
  outputs: [spec('y', ['batch', 10])], ...extra,
});
const code = (c: string) => (e: unknown) => isErrorCode(e, c);

test('createBundle → readBundle → openSealedTail round-trips with the defaults (64 KiB smallest bucket, 1 MiB chunks)', () => {
  const tail = randomBytes(1_100_000);
  const { bytes, providerKey } = createBundle(model(tail, { modelId: 'mnist-1', licenseServer: 'https://lic.example' }));
  const b = readBundle(bytes, { path: 'm.enn' });
  assert.equal(b.header.modelId, 'mnist-1');
  assert.equal(b.header.licenseServer, 'https://lic.example');
  assert.deepEqual(b.header.inputs, [spec('h', ['batch', 128])]);
  assert.deepEqual(b.header.policy, { platforms: [{ kind: 'sim', measurements: [] }] });
  assert.equal(b.header.tail.paddedSize, 2 * 1024 * 1024);
  assert.equal(b.header.tail.chunkSize, 1024 * 1024);
  assert.equal(b.header.tail.chunkCount, 2);
  assert.equal(b.sealedTail.chunks.length, 2);
  assert.deepEqual(b.headerHash, sha256(b.headerBytes));
  assert.equal(Buffer.from(b.header.providerKey, 'hex').compare(providerKey.signingPublicKey), 0);
  assert.equal(providerKey.modelId, 'mnist-1');
  assert.deepEqual(openSealedTail(b, providerKey.modelKey), tail);
});

test('the bundle bytes contain no 16-byte window of the tail and not the model key', () => {
  const tail = randomBytes(5000);
  const { bytes, providerKey } = createBundle(model(tail, { bucketMinSize: 8192, chunkSize: 1024 }));
  const file = Buffer.from(bytes);
  for (let i = 0; i + 16 <= tail.byteLength; i += 16) assert.equal(file.indexOf(tail.subarray(i, i + 16)), -1, `tail window ${i}`);
  assert.equal(file.indexOf(providerKey.modelKey), -1);
  assert.equal(file.indexOf(providerKey.signingKey), -1);
});

test('the sealed tail reveals only the bucket: different tails in one bucket give equal sealed sizes', () => {
  const sealedSize = (n: number) => {
    const b = readBundle(createBundle(model(randomBytes(n), { modelId: 'same' })).bytes);
    return { size: b.sealedTail.chunks.reduce((s, c) => s + c.byteLength, 0), padded: b.header.tail.paddedSize };
  };
  const a = sealedSize(10), c = sealedSize(60_000);
  assert.deepEqual(a, c);
  assert.equal(a.padded, 65536);
  assert.equal(sealedSize(65536 - 8).size, a.size, 'a tail that exactly fills the bucket');
  assert.equal(sealedSize(65536 - 7).padded, 131072, 'one more byte → next bucket');
  assert.equal(bucketSize(0, 1024), 1024);
  assert.equal(bucketSize(2000, 1024), 2048);
  assert.throws(() => bucketSize(10, 3000), RangeError);
  assert.throws(() => bucketSize(10, 512), RangeError);
});

test('padding: length prefix + zeros inside; unpad refuses bad lengths and non-zero padding', () => {
  const t = Uint8Array.from([1, 2, 3]);
  const p = padTail(t, 32);
  assert.deepEqual([...p.subarray(0, 11)], [0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]);
  assert.deepEqual(unpadTail(p)?.tail, t);
  assert.equal(unpadTail(p)?.policy?.kind, 'probabilities', 'no record: the default policy');
  const q = Uint8Array.from(p); q[31] = 1;
  assert.equal(unpadTail(q), null);
  const r = Uint8Array.from(p); r[7] = 25;
  assert.equal(unpadTail(r), null);
  r[7] = 24;
  assert.equal(unpadTail(r)?.tail.byteLength, 24);
  assert.throws(() => padTail(new Uint8Array(25), 32), RangeError);
});

test('TailOpener opens chunk by chunk, refuses wrong sizes, extra chunks and early finish, and wipes on failure', () => {
  const tail = randomBytes(3000);
  const { bytes, providerKey } = createBundle(model(tail, { bucketMinSize: 4096, chunkSize: 1024 }));
  const b = readBundle(bytes);
  const o = new TailOpener(b.headerBytes, providerKey.modelKey);
  for (const c of b.sealedTail.chunks) o.push(c);
  const out = o.finish();
  assert.deepEqual(out, tail);
  assert.throws(() => o.finish(), /already failed or finished/);

  const early = new TailOpener(b, providerKey.modelKey);
  early.push(b.sealedTail.chunks[0]!);
  assert.throws(() => early.finish(), (e: Error) => isErrorCode(e, 'BUNDLE_TRUNCATED') && /after 1 of 4 chunks/.test(e.message));

  const wrongSize = new TailOpener(b, providerKey.modelKey);
  assert.throws(() => wrongSize.push(b.sealedTail.chunks[0]!.subarray(1)), (e: Error) => isErrorCode(e, 'BUNDLE_TAIL_DECRYPT') && /chunk 0 of 4 has 1039 bytes/.test(e.message));
  assert.throws(() => wrongSize.push(b.sealedTail.chunks[0]!), /already failed/);

  const extra = new TailOpener(b, providerKey.modelKey);
  for (const c of b.sealedTail.chunks) extra.push(c);
  assert.throws(() => extra.push(b.sealedTail.chunks[3]!), /more chunks than/);
});

test('a key for another bundle is named as such; a bundle from another provider is refused when pinned', () => {
  const one = createBundle(model(randomBytes(100)));
  const two = createBundle(model(randomBytes(100)));
  const b = readBundle(one.bytes, { path: 'one.enn' });
  assert.throws(() => openSealedTail(b, two.providerKey.modelKey),
    (e: Error) => isErrorCode(e, 'BUNDLE_KEY_MISMATCH') && /^Cannot open bundle one\.enn: the model key is not this bundle's key/.test(e.message));
  assert.throws(() => openSealedTail(b, new Uint8Array(16)), code('BUNDLE_KEY_MISMATCH'));
  assert.throws(() => readBundle(one.bytes, { providerKey: two.providerKey.signingPublicKey }), code('BUNDLE_PROVIDER_KEY'));
  assert.equal(readBundle(one.bytes, { providerKey: one.providerKey.signingPublicKey }).header.modelId, one.providerKey.modelId);
});

test('a reused provider signing key is kept; model keys and nonce prefixes are always fresh', () => {
  const { privateKey, publicKey } = generateEd25519KeyPair();
  const a = createBundle(model(randomBytes(10), { signingKey: privateKey }));
  const c = createBundle(model(randomBytes(10), { signingKey: privateKey }));
  assert.deepEqual(a.providerKey.signingPublicKey, publicKey);
  assert.deepEqual(c.providerKey.signingPublicKey, publicKey);
  assert.notDeepEqual(a.providerKey.modelKey, c.providerKey.modelKey);
  assert.notEqual(readBundle(a.bytes).header.tail.noncePrefix, readBundle(c.bytes).header.tail.noncePrefix);
});

test('createBundle validates its inputs (bad dtype, duplicate names, policy, URL, chunk size)', () => {
  const t = randomBytes(10);
  assert.throws(() => createBundle(model(t, { outputs: [{ name: 'y', dtype: 'float33' as 'float32', shape: [1] }] })), /dtype/);
  assert.throws(() => createBundle(model(t, { inputs: [spec('a', [1]), spec('a', [2])] })), /twice/);
  assert.throws(() => createBundle(model(t, { policy: { platforms: [] } })), /platforms/);
  assert.throws(() => createBundle(model(t, { policy: { platforms: [{ kind: 'sim', measurements: ['ABCD'] }] } })), /hex/);
  assert.throws(() => createBundle(model(t, { licenseServer: 'ftp://x' })), /licenseServer/);
  assert.throws(() => createBundle(model(t, { modelId: 'has space' })), /modelId/);
  assert.throws(() => createBundle(model(t, { chunkSize: 100 })), RangeError);
});

test('policyAccepts: listed kind with empty list = any; otherwise exact measurement, listed signer, ISVSVN at least the minimum', () => {
  const p = { platforms: [{ kind: 'sim', measurements: [] }, { kind: 'gramine-sgx', measurements: ['ab'.repeat(32)] }] };
  const at = (kind: string, measurement: string, mrSigner = 'ee'.repeat(32), isvSvn = 1) => policyAccepts(p, { kind, measurement, mrSigner, isvSvn });
  assert.equal(at('sim', 'cd'.repeat(32)), true);
  assert.equal(at('gramine-sgx', 'ab'.repeat(32)), true);
  assert.equal(at('gramine-sgx', 'AB'.repeat(32)), true);
  assert.equal(at('gramine-sgx', 'cd'.repeat(32)), false);
  assert.equal(at('tdx', 'ab'.repeat(32)), false);
  // The upgrade-friendly SGX policy: any MRENCLAVE by this signer, from security version 2 on.
  const bySigner = { platforms: [{ kind: 'gramine-sgx', measurements: [], mrSigners: ['ee'.repeat(32)], minIsvSvn: 2 }] };
  const s = (mrSigner: string, isvSvn: number) => policyAccepts(bySigner, { kind: 'gramine-sgx', measurement: '12'.repeat(32), mrSigner, isvSvn });
  assert.equal(s('ee'.repeat(32), 2), true);
  assert.equal(s('EE'.repeat(32), 3), true);
  assert.equal(s('ee'.repeat(32), 1), false, 'below the minimum SVN');
  assert.equal(s('ef'.repeat(32), 2), false, 'another signer');
  /** The first platform entry of a bundle made with `policy`, as read back from its signed header. */
  const bundleTestPolicy = (policy: Parameters<typeof policyAccepts>[0]) => readBundle(createBundle(model(randomBytes(10), { policy })).bytes).header.policy.platforms[0];
  const t = bundleTestPolicy(bySigner);
  assert.deepEqual(t, bySigner.platforms[0], 'mrSigners and minIsvSvn survive the signed header');
  assert.throws(() => bundleTestPolicy({ platforms: [{ kind: 'gramine-sgx', measurements: [], mrSigners: ['ab'] }] }), /mrSigners\[0\] is not 32 bytes/);
  assert.throws(() => bundleTestPolicy({ platforms: [{ kind: 'gramine-sgx', measurements: [], minIsvSvn: 65536 }] }), /minIsvSvn/);
});

test('canonical JSON: sorted, compact, integers only; parse refuses every non-canonical spelling', () => {
  assert.equal(canonicalJson({ b: [1, 'x\n\u0001é'], a: { d: 0, c: undefined } }), '{"a":{"d":0},"b":[1,"x\\n\\u0001é"]}');
  for (const bad of [null, true, 1.5, -1, 2 ** 53]) assert.throws(() => canonicalJson(bad), TypeError);
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.deepEqual(parseCanonicalJson(enc('{"a":[1,"b"]}')), { a: [1, 'b'] });
  for (const bad of ['{"a":1,"a":1}', '{ "a":1}', '{"b":1,"a":2}', '{"a":1.0}', '{"a":1e0}', '{"a":-0}', '{"a":"\\u0061"}', '{"a":null}', '\ufeff{"a":1}', '{"a":01}']) {
    assert.throws(() => parseCanonicalJson(enc(bad)), SyntaxError, bad);
  }
  assert.throws(() => parseCanonicalJson(Uint8Array.of(0x7b, 0xff, 0x7d)), /UTF-8/);
});

test('provider key file: round trip, secret warning, mode 0600, atomic, tamper and wrong type refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enn-key-'));
  try {
    const { providerKey } = createBundle(model(randomBytes(10), { modelId: 'm1' }));
    const text = new TextDecoder().decode(encodeProviderKeyFile(providerKey));
    assert.match(JSON.parse(text).warning, /^SECRET/);
    assert.deepEqual(decodeProviderKeyFile(new TextEncoder().encode(text)), providerKey);
    const path = join(dir, 'm.enn.key');
    await writeProviderKeyFile(path, providerKey);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(decodeProviderKeyFile(readFileSync(path), path), providerKey);
    assert.deepEqual(readdirSync(dir), ['m.enn.key'], 'no temporary file left');

    const doc = JSON.parse(text);
    const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
    const other = createBundle(model(randomBytes(10))).providerKey;
    assert.throws(() => decodeProviderKeyFile(enc({ ...doc, signingPublicKey: Buffer.from(other.signingPublicKey).toString('base64') })), /not the public key/);
    assert.throws(() => decodeProviderKeyFile(enc({ ...doc, modelKey: 'AAAA' })), /modelKey is not 32 bytes/);
    assert.throws(() => decodeProviderKeyFile(enc({ ...doc, format: 'x' })), code('PROVIDER_KEY'));
    assert.throws(() => decodeProviderKeyFile(enc({ ...doc, version: 2 })), /version 2/);
    assert.throws(() => decodeProviderKeyFile(new TextEncoder().encode('{' + doc.modelKey)), (e: Error) => !e.message.includes(doc.modelKey) && isErrorCode(e, 'PROVIDER_KEY'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeBundleFile/readBundleFile: atomic write, errors name the path, nothing half-written on failure', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enn-file-'));
  try {
    const { bytes } = createBundle(model(randomBytes(10)));
    const path = join(dir, 'model.enn');
    await writeBundleFile(path, bytes);
    assert.equal((await readBundleFile(path)).source, path);
    await assert.rejects(readBundleFile(join(dir, 'missing.enn')), (e: Error) => isErrorCode(e, 'BUNDLE_READ') && e.message.includes('missing.enn: no such file'));
    await assert.rejects(writeBundleFile(join(dir, 'no-such-dir', 'x.enn'), bytes), code('WRITE_FAILED'));
    await assert.rejects(writeBundleFile(dir, bytes), code('WRITE_FAILED'), 'rename over a directory fails');
    assert.deepEqual(readdirSync(dir).sort(), ['model.enn'], 'no temporary files left');
    await writeBundleFile(path, bytes.subarray(0, 100));
    await assert.rejects(readBundleFile(path), (e: Error) => isErrorCode(e, 'BUNDLE_TRUNCATED') && e.message.startsWith(`Cannot open bundle ${path}: `));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readProviderKeyFile reads what writeProviderKeyFile wrote; a missing file is named', async () => {
  const { readProviderKeyFile } = await import('./index.ts');
  const dir = mkdtempSync(join(tmpdir(), 'enn-key2-'));
  try {
    const { providerKey } = createBundle(model(randomBytes(10)));
    await writeProviderKeyFile(join(dir, 'k'), providerKey);
    assert.deepEqual(await readProviderKeyFile(join(dir, 'k')), providerKey);
    await assert.rejects(readProviderKeyFile(join(dir, 'nope')), (e: Error) => isErrorCode(e, 'PROVIDER_KEY') && /nope: no such file$/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
