import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { runCli, runMain } from '../cli/cli.testkit.ts';
import { GRAMINE_VERSIONS, defaultEnclaveSize, deriveMaxThreads, renderManifest, type ManifestOptions } from './manifest.ts';
import { checkSchema, gramineSchema, parseTomlSubset, type TomlTable } from './toml.testkit.ts';

const base: ManifestOptions = {
  nodePath: '/usr/bin/node',
  libraries: ['/lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib/x86_64-linux-gnu/libc.so.6'],
  programFiles: ['enclave-nn/trusted-main.cjs', 'enclave-nn/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node', 'enclave-nn/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1'],
};

/** The `sgx.trusted_files` URIs of a rendered manifest, parsed as TOML. */
function trustedFiles(m: TomlTable): string[] {
  return ((m.sgx as TomlTable).trusted_files as string[]).map((u) => u.replace(/^file:/, ''));
}

/** Python's own TOML reader (tomllib, Python ≥ 3.11), as JSON; undefined when there is none. */
function pythonToml(text: string): unknown {
  try {
    return JSON.parse(execFileSync('python3', ['-c', 'import sys, json, tomllib; print(json.dumps(tomllib.loads(sys.stdin.read())))'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] }));
  } catch {
    return undefined;
  }
}
const PYTHON_TOML = pythonToml('a = 1') === undefined ? 'needs python3 >= 3.11 (tomllib) to cross-check the TOML reader' : false;

test('the manifest has no insecure__ key, DCAP on, debug off by default', () => {
  const m = renderManifest(base);
  assert.doesNotMatch(m, /^\s*[^#\n]*insecure__/m, 'no insecure__ option outside comments');
  assert.match(m, /^sgx\.remote_attestation = "dcap"$/m);
  assert.match(m, /^sgx\.debug = false$/m);
  assert.match(renderManifest({ ...base, debug: true }), /^sgx\.debug = true$/m);
});

for (const version of GRAMINE_VERSIONS) {
  test(`Gramine ${version}: the template is TOML whose every key is in that release's manifest schema`, () => {
    const m = parseTomlSubset(renderManifest({ ...base, gramineVersion: version, edmm: true }));
    assert.deepEqual(checkSchema(m, gramineSchema(version)), []);
    const entry = (m.loader as TomlTable).entrypoint;
    if (version === '1.7') assert.equal(entry, 'file:{{ gramine.libos }}', '1.7 reads only the string form');
    else assert.deepEqual(entry, { uri: 'file:{{ gramine.libos }}' }, '1.8 deprecates and 1.9 refuses the string form');
    // A manifest for the wrong release fails that release's schema: the check can fail.
    const other = version === '1.7' ? '1.9' : '1.7';
    assert.notDeepEqual(checkSchema(m, gramineSchema(other)), [], `a ${version} manifest is not a ${other} manifest`);
  });
}

test('the TOML reader agrees with Python\'s tomllib on every generated form', { skip: PYTHON_TOML }, () => {
  for (const version of GRAMINE_VERSIONS) {
    const text = renderManifest({ ...base, gramineVersion: version, debug: true });
    assert.deepEqual(parseTomlSubset(text), pythonToml(text));
  }
  assert.throws(() => parseTomlSubset('a = 1\na = 2\n'), /defined twice/);
  assert.ok(checkSchema(parseTomlSubset('a = "x"'), gramineSchema('1.9')).includes('a: unknown key'), 'an unknown key is a problem');
});

test('older and unknown Gramine versions are refused, naming the eventfd reason', () => {
  assert.throws(() => renderManifest({ ...base, gramineVersion: '1.6' as never }), /1\.6 and older need the insecure__ eventfd option/);
});

test('arguments and environment are fixed in the manifest, the entry file inside the enclave mount', () => {
  const m = parseTomlSubset(renderManifest(base));
  const loader = m.loader as TomlTable;
  assert.deepEqual(loader.argv, ['/usr/bin/node', '--max-old-space-size=1024', '--v8-pool-size=2', '/enclave-nn/trusted-main.cjs', '--platform', 'gramine-sgx', '--engine', 'ort', '--seal', 'mrsigner', '--ort-threads', '2']);
  assert.equal((loader.env as TomlTable).ENCLAVE_NN_PLATFORM, 'gramine-sgx');
  assert.equal((m.libos as TomlTable).entrypoint, '/usr/bin/node');
  assert.ok(((m.fs as TomlTable).mounts as TomlTable[]).some((x) => x.path === '/enclave-nn' && x.uri === 'file:enclave-nn'), 'the program folder is named relative to the manifest');
  assert.doesNotMatch(renderManifest(base), /passthrough/, 'no environment variable passes through from the host');
  assert.deepEqual((parseTomlSubset(renderManifest({ ...base, sealPolicy: 'mrenclave', ortThreads: 4 })).loader as TomlTable).argv, ['/usr/bin/node', '--max-old-space-size=1024', '--v8-pool-size=2', '/enclave-nn/trusted-main.cjs', '--platform', 'gramine-sgx', '--engine', 'ort', '--seal', 'mrenclave', '--ort-threads', '4']);
});

test('every trusted program file, node and each library is a trusted file, once', () => {
  const files = trustedFiles(parseTomlSubset(renderManifest(base)));
  for (const f of [...base.programFiles, base.nodePath, ...base.libraries]) assert.ok(files.includes(f), `${f} is trusted`);
  assert.equal(files.filter((f) => f.endsWith('libc.so.6')).length, 1, 'duplicates removed');
  assert.throws(() => renderManifest({ ...base, programFiles: ['/abs/trusted-main.cjs'] }), /not inside enclave-nn\//);
});

test('enclave size: 2G by default, grown for a large tail, a power of two; threads derived from the pools, each with its reason', () => {
  assert.equal(defaultEnclaveSize(0), '2G');
  assert.equal(defaultEnclaveSize(100 * 2 ** 20), '2G');
  assert.equal(defaultEnclaveSize(400 * 2 ** 20), '4G');
  const m = renderManifest({ ...base, tailSize: 400 * 2 ** 20 });
  assert.match(m, /# Node \(512 MiB[^\n]*\n(#[^\n]*\n)*sgx\.enclave_size = "4G"/);
  assert.match(renderManifest(base), /^sgx\.enclave_size = "2G"$/m);
  assert.equal(deriveMaxThreads(2), 17);
  assert.match(renderManifest(base), /# Threads at once: main 1 \+ V8 pool 2[^\n]*\n(#[^\n]*\n)*sgx\.max_threads = 17$/m);
  assert.match(renderManifest({ ...base, ortThreads: 4 }), /^sgx\.max_threads = 19$/m);
  assert.match(renderManifest({ ...base, edmm: true }), /^sgx\.edmm_enable = true$/m);
  assert.match(renderManifest(base), /^sgx\.edmm_enable = false$/m);
  assert.throws(() => renderManifest({ ...base, enclaveSize: '3G' }), /power of two/);
  assert.throws(() => renderManifest({ ...base, isvSvn: 70000 }), /ISVSVN must be an integer in 0\.\.65535/);
});

test('enclave-nn gramine manifest: the same manifest in two folders; every packaged file listed relative to it; the entry is the CommonJS .cjs', async () => {
  const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
  const texts: string[] = [];
  for (const name of ['first', 'second-folder']) {
    const out = join(mkdtempSync(join(tmpdir(), `enn-gramine-${name}-`)), 'sgx');
    // The first folder by the real binary (gramine's real-process test), the second in-process.
    const args = ['gramine', 'manifest', '-o', out, '--isvsvn', '3'];
    const r = name === 'first' ? runCli(args) : await runMain(args);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(join(out, 'enclave-nn.manifest.template'), 'utf8');
    assert.ok(!text.includes(out), 'the build folder is not in the manifest');
    texts.push(text);
    const m = parseTomlSubset(text);
    assert.deepEqual(checkSchema(m, gramineSchema('1.9')), []);
    const listed = new Set(trustedFiles(m));
    const packaged = walk(join(out, 'enclave-nn')).map((f) => relative(out, f));
    assert.ok(packaged.includes('enclave-nn/trusted-main.cjs') && packaged.some((f) => f.endsWith('libonnxruntime.so.1')));
    for (const f of packaged) assert.ok(listed.has(f), `${f} is a trusted file`);
    assert.ok(listed.has(process.execPath), 'node is trusted');
    assert.ok([...listed].some((f) => /libstdc\+\+\.so/.test(f)), 'node\'s libraries are trusted');
    assert.equal((m.sgx as TomlTable).isvsvn, 3);
    assert.match(readFileSync(join(out, 'enclave-nn', 'trusted-main.cjs'), 'utf8'), /require\(/, 'CommonJS, hence .cjs');
  }
  assert.equal(texts[0], texts[1], 'byte-identical manifests');
  const bad = await runMain(['gramine', 'manifest', '-o', join(tmpdir(), 'enn-never'), '--enclave-size', '3G']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /power of two/);
  const big = join(mkdtempSync(join(tmpdir(), 'enn-gramine-big-')), 'sgx');
  const sized = await runMain(['gramine', 'manifest', '-o', big, '--tail-size', String(400 * 2 ** 20), '--edmm', '--seal', 'mrenclave']);
  assert.equal(sized.code, 0, sized.stderr);
  const bigSgx = parseTomlSubset(readFileSync(join(big, 'enclave-nn.manifest.template'), 'utf8')).sgx as TomlTable;
  assert.deepEqual([bigSgx.enclave_size, bigSgx.edmm_enable], ['4G', true], 'sized for a 400 MiB tail');
  assert.match((await runMain(['gramine', 'manifest', '-o', join(tmpdir(), 'enn-never'), '--seal', 'mrsomething'])).stderr, /--seal must be mrsigner or mrenclave/);
  const old = await runMain(['gramine', 'manifest', '-o', join(tmpdir(), 'enn-never'), '--gramine-version', '1.6']);
  assert.equal(old.code, 2);
  assert.match(old.stderr, /Gramine 1\.6 is not supported/);
});
