import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBundle, writeBundleFile, writeProviderKeyFile } from '../../bundle/index.ts';
import { randomBytes } from '../../crypto/index.ts';
import { runCli, runMain } from '../cli.testkit.ts';

const dir = mkdtempSync(join(tmpdir(), 'enn-bundle-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const head = new TextEncoder().encode('head onnx bytes');
const made = createBundle({
  head, tail: randomBytes(2000), modelId: 'cli-model', licenseServer: 'https://lic.example',
  headInputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 4] }],
  inputs: [{ name: 'h', dtype: 'float32', shape: ['batch', 8] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }],
});
const enn = join(dir, 'model.enn');
const key = join(dir, 'model.enn.key');
await writeBundleFile(enn, made.bytes);
await writeProviderKeyFile(key, made.providerKey);

const cli = (...args: string[]) => runMain(args);

test('bundle info prints the verified public header (text and --json)', async () => {
  const r = await cli('bundle', 'info', enn);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /header signature verifies, head hash matches/);
  assert.match(r.stdout, /model id\s+cli-model/);
  assert.match(r.stdout, /cut \(tail in\)\s+h float32\[batch,8\]/);
  assert.match(r.stdout, /sealed tail\s+64\.0 KiB bucket, 1 chunk\(s\)/);
  assert.match(r.stdout, /sim \(any measurement — development only\)/);
  assert.match(r.stdout, /license server\s+https:\/\/lic\.example/);
  const j = JSON.parse((await cli('bundle', 'info', enn, '--json')).stdout);
  assert.equal(j.header.modelId, 'cli-model');
  assert.deepEqual(j.header.outputs, [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }]);
  assert.match(j.headerSha256, /^[0-9a-f]{64}$/);
});

test('bundle extract-head writes exactly the head; verify opens the tail with the right key only', async () => {
  const out = join(dir, 'head.onnx');
  const r = await cli('bundle', 'extract-head', enn, '-o', out);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(new Uint8Array(readFileSync(out)), head);
  const v = await cli('bundle', 'verify', enn, '--key', key);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /sealed tail opens .* 2000 bytes of tail in a 64\.0 KiB bucket/);

  const other = createBundle({ head, tail: randomBytes(10), headInputs: [{ name: 'x', dtype: 'float32', shape: [1] }], inputs: [{ name: 'h', dtype: 'float32', shape: [1] }], outputs: [{ name: 'y', dtype: 'float32', shape: [1] }] });
  const otherKey = join(dir, 'other.key');
  await writeProviderKeyFile(otherKey, other.providerKey);
  const w = await cli('bundle', 'verify', enn, '--key', otherKey);
  assert.equal(w.code, 2);
  assert.equal(w.stdout, '');
  assert.match(w.stderr, /^enclave-nn bundle: Cannot open bundle .*model\.enn: the model key is not this bundle's key \(model cli-model\)\n$/);
});

test('tampered bundles: one error line naming what failed, exit 2, no output file', async () => {
  const headerSize = new DataView(made.bytes.buffer).getUint32(12, false);
  const cases: [string, number, RegExp][] = [
    ['header', 16 + 30, /header (signature does not verify|is not)/],
    ['signature', 16 + headerSize + 3, /header signature does not verify/],
    ['head', 16 + headerSize + 64 + 2, /head does not match the SHA-256 in the signed header/],
  ];
  for (const [what, at, pattern] of cases) {
    const bad = Uint8Array.from(made.bytes); bad[at]! ^= 0x20;
    const p = join(dir, `bad-${what}.enn`);
    writeFileSync(p, bad);
    const out = join(dir, `bad-${what}-head.onnx`);
    const r = await cli('bundle', 'extract-head', p, '-o', out);
    assert.equal(r.code, 2, what);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, pattern, what);
    assert.ok(!existsSync(out), `${what}: nothing written`);
  }
  const bad = Uint8Array.from(made.bytes); bad[bad.length - 100]! ^= 1;
  writeFileSync(join(dir, 'bad-tail.enn'), bad);
  const r = await cli('bundle', 'verify', join(dir, 'bad-tail.enn'), '--key', key);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /sealed tail chunk 0 of 1 does not authenticate/);
  writeFileSync(join(dir, 'short.enn'), made.bytes.subarray(0, 500));
  assert.match((await cli('bundle', 'info', join(dir, 'short.enn'))).stderr, /file is truncated/);
  assert.equal((await cli('bundle', 'frobnicate', enn)).code, 2);
  assert.equal((await cli('bundle', 'extract-head', enn)).code, 2, 'missing -o');
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});

test('bundle info runs as a real process (bundle\'s one); exit 2 with one line on a missing file', async () => {
  const r = runCli(['bundle', 'info', enn]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /model id\s+cli-model/);
  const bad = await cli('bundle', 'info', join(dir, 'missing.enn'));
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, `enclave-nn bundle: Cannot open bundle ${join(dir, 'missing.enn')}: no such file\n`);
});
