import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderManifest, type ManifestOptions } from './manifest.ts';

const base: ManifestOptions = {
  nodePath: '/usr/bin/node',
  libraries: ['/lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib/x86_64-linux-gnu/libc.so.6'],
  programFiles: ['/opt/enn/trusted-main.js', '/opt/enn/onnxruntime_binding.node', '/opt/enn/libonnxruntime.so.1'],
  programDir: '/opt/enn',
};

/** The `sgx.trusted_files` URIs of a rendered manifest. */
function trustedFiles(text: string): string[] {
  const block = text.slice(text.indexOf('sgx.trusted_files = ['));
  return [...block.matchAll(/uri = "file:([^"]+)"/g)].map((m) => m[1]!);
}

test('the manifest has no insecure__ key, DCAP on, debug off by default', () => {
  const m = renderManifest(base);
  assert.doesNotMatch(m, /^\s*[^#\n]*insecure__/m, 'no insecure__ option outside comments');
  assert.match(m, /^sgx\.remote_attestation = "dcap"$/m);
  assert.match(m, /^sgx\.debug = false$/m);
  assert.match(renderManifest({ ...base, debug: true }), /^sgx\.debug = true$/m);
});

test('arguments and environment are fixed in the manifest, the entry file inside the enclave mount', () => {
  const m = renderManifest(base);
  assert.match(m, /^loader\.argv = \["\/usr\/bin\/node", "--max-old-space-size=2048", "\/enclave-nn\/trusted-main\.js", "--platform", "gramine-sgx", "--engine", "ort"\]$/m);
  assert.match(m, /^loader\.env\.ENCLAVE_NN_PLATFORM = "gramine-sgx"$/m);
  assert.doesNotMatch(m, /passthrough/, 'no environment variable passes through from the host');
});

test('every trusted program file, node and each library is a trusted file, once', () => {
  const files = trustedFiles(renderManifest(base));
  for (const f of [...base.programFiles, base.nodePath, ...base.libraries]) assert.ok(files.includes(f), `${f} is trusted`);
  assert.equal(files.filter((f) => f.endsWith('libc.so.6')).length, 1, 'duplicates removed');
});

test('enclave size and thread count are set, each with its reason', () => {
  const m = renderManifest({ ...base, enclaveSize: '8G', maxThreads: 48 });
  assert.match(m, /# Node reserves a large virtual address range[^\n]*\n(#[^\n]*\n)*sgx\.enclave_size = "8G"/);
  assert.match(m, /# Node runs several threads[^\n]*\n(#[^\n]*\n)*sgx\.max_threads = 48/);
  assert.throws(() => renderManifest({ ...base, enclaveSize: '3G' }), /power of two/);
});

test('enclave-nn gramine manifest writes the template and lists every packaged file as trusted', async () => {
  const { mkdtempSync, readFileSync, readdirSync, statSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { runCli } = await import('../cli/cli.testkit.ts');
  const out = join(mkdtempSync(join(tmpdir(), 'enn-gramine-')), 'sgx');
  const r = runCli(['gramine', 'manifest', '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(join(out, 'enclave-nn.manifest.template'), 'utf8');
  const listed = new Set(trustedFiles(text));
  const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
  const packaged = walk(join(out, 'enclave-nn'));
  assert.ok(packaged.some((f) => f.endsWith('trusted-main.mjs')) && packaged.some((f) => f.endsWith('libonnxruntime.so.1')));
  for (const f of packaged) assert.ok(listed.has(f), `${f} is a trusted file`);
  assert.ok(listed.has(process.execPath), 'node is trusted');
  assert.ok([...listed].some((f) => /libstdc\+\+\.so/.test(f)), 'node\'s libraries are trusted');
  assert.doesNotMatch(text, /^\s*[^#\n]*insecure__/m);
  assert.match(text, /^sgx\.debug = false$/m);
  const bad = runCli(['gramine', 'manifest', '-o', join(out, 'x'), '--enclave-size', '3G']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /power of two/);
});
