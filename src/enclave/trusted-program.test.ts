import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sha256 } from '../crypto/index.ts';
import { EnclaveProcess } from './host.ts';
import { trustedProgramInputs, trustedProgramPath } from './trusted-program.ts';
import { useTempEnclaveHome } from '../runtime/support.testkit.ts';

useTempEnclaveHome();

test('the trusted program is one file whose SHA-256 is the sim measurement', async () => {
  const path = await trustedProgramPath();
  assert.equal(await trustedProgramPath(), path, 'cached');
  const e = await EnclaveProcess.start({ onStderr: () => undefined });
  try {
    assert.deepEqual(e.hello.measurement, sha256(new Uint8Array(readFileSync(path))));
  } finally {
    await e.close();
  }
});

test('the trusted code base holds no host, session, CLI, ONNX codec or onnxruntime code', async () => {
  const inputs = (await trustedProgramInputs()).bundled;
  assert.ok(inputs.includes('src/enclave/trusted-main.ts') && inputs.includes('src/enclave/trusted/enclave-state.ts'));
  const forbidden = inputs.filter((f) => /^src\/(cli|runtime|bench|attack|import|split)\/|^src\/enclave\/host\.ts$|^src\/onnx\/(ort|codec|graph)\.ts$|node_modules\//.test(f));
  assert.deepEqual(forbidden, []);
  const code = readFileSync(await trustedProgramPath(), 'utf8');
  assert.doesNotMatch(code, /require\(["']onnxruntime-(node|web)["']\)|from\s+["']onnxruntime-(node|web)["']/, 'engines are loaded lazily (only the chosen one loads)');
  // With require, not import(): a dynamic import would start Node's ES module loader at boot (issue 14).
  assert.match(code, /requireEngine\("onnxruntime-node"\)/);
  assert.doesNotMatch(code, /import\(["']onnxruntime-(node|web)/);
});

test('the fallback build outside node_modules (read-only installs) runs both engines', async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { programIn } = await import('./trusted-program.ts');
  const { readBundle } = await import('../bundle/read.ts');
  const { insecureDevKeyProvider } = await import('../runtime/insecure-dev-key.ts');
  const { bundleOfSplit, everySplit } = await import('../runtime/support.testkit.ts');
  const { mlpModel } = await import('../onnx/models.testkit.ts');
  const path = await programIn(mkdtempSync(join(tmpdir(), 'enn-ro-')), true);
  assert.match(readFileSync(path, 'utf8'), /const base = true \? "\/[^"]*\/package\.json"/, 'engines resolved from the installed package.json');
  const { splits } = await everySplit(mlpModel());
  const { bytes, providerKey } = bundleOfSplit(splits[0]!);
  const bundle = readBundle(bytes);
  for (const engine of ['ort', 'wasm']) {
    const e = await EnclaveProcess.start({ onStderr: () => undefined, engine, launcher: (_p, args) => ({ file: process.execPath, args: [path, ...args] }) });
    try {
      await insecureDevKeyProvider(providerKey).provision(e, bundle);
      await e.load(bundle.headerBytes, bundle.signature, bundle.sealedTail.chunks);
      const r = await e.forward({ h2: { dtype: 'float32', dims: [1, 32], data: new Float32Array(32).fill(0.2) } });
      assert.deepEqual(r.outputs.y!.dims, [1, 4], engine);
    } finally {
      await e.close();
    }
  }
});

// The metafile of each build (trustedProgramInputs reads esbuild's): each platform's program
// holds no other platform's code (docs/enclave-protocol.md §8), checked on what ended up in the
// output (`metafile.outputs[…].inputs`). esbuild still reads the other platform's modules (the
// registry imports both), so they are in `metafile.inputs`, but none of their code is output.
const SIMULATOR = /^src\/(attest\/sim|crypto\/(x509-build|der|ecdsa)|platform\/sim|platform\/testing|attest\/test-)/;
test('the gramine-sgx program holds no simulator: no attest/sim, crypto/x509-build, platform/sim in its metafile', async () => {
  const { bundled, read } = await trustedProgramInputs('gramine-sgx');
  assert.ok(bundled.includes('src/platform/gramine-sgx.ts') && bundled.includes('src/enclave/trusted/enclave-state.ts'), 'the metafile lists the program\'s sources');
  assert.ok(read.includes('src/platform/sim.ts'), 'read (the registry imports it) but not output:');
  assert.deepEqual(bundled.filter((f) => SIMULATOR.test(f)), []);
  const code = readFileSync(await trustedProgramPath('gramine-sgx'), 'utf8');
  assert.doesNotMatch(code, /INSECURE: simulated TEE/, 'not even the sim warning text');
});

test('the sim program holds no gramine-sgx platform code; the sim build is what sim measures', async () => {
  const { bundled } = await trustedProgramInputs('sim');
  assert.ok(bundled.includes('src/platform/sim.ts') && bundled.includes('src/attest/sim.ts'));
  assert.deepEqual(bundled.filter((f) => f === 'src/platform/gramine-sgx.ts'), []);
  assert.notEqual(await trustedProgramPath('sim'), await trustedProgramPath('gramine-sgx'));
});

test('a program refuses the platform it was not built for, and bad --seal / --ort-threads values, before any frame', async () => {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, [await trustedProgramPath('gramine-sgx'), '--platform', 'sim'], { input: '', encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /internal error \(EnclaveNnError\)/, 'dies before any frame: unknown platform in this build');
  for (const [flag, value, message] of [['--seal', 'mrnothing', /--seal must be one of mrsigner, mrenclave, got 'mrnothing'/], ['--ort-threads', '0', /--ort-threads must be an integer in 1\.\.999, got '0'/]] as const) {
    const bad = spawnSync(process.execPath, [await trustedProgramPath('sim'), '--platform', 'sim', flag, value], { input: '', encoding: 'utf8' });
    assert.equal(bad.status, 64, `${flag} ${value}`);
    assert.match(bad.stderr, message);
  }
});

test('docs/enclave-protocol.md §8 lists exactly the files in each platform\'s program', async () => {
  const doc = readFileSync(new URL('../../docs/enclave-protocol.md', import.meta.url), 'utf8');
  for (const platform of ['gramine-sgx', 'sim'] as const) {
    const m = new RegExp(`<!-- trusted-program-files ${platform} -->\\n\`\`\`text\\n([^\`]*)\`\`\``).exec(doc);
    assert.ok(m, `§8 has the ${platform} list`);
    assert.deepEqual(m[1]!.trim().split('\n'), (await trustedProgramInputs(platform)).bundled, `${platform}: the list in §8 is the build's`);
  }
});
