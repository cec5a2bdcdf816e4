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
  const inputs = await trustedProgramInputs();
  assert.ok(inputs.includes('src/enclave/trusted-main.ts') && inputs.includes('src/enclave/trusted/enclave-state.ts'));
  const forbidden = inputs.filter((f) => /^src\/(cli|runtime|bench|attack|import|split)\/|^src\/enclave\/host\.ts$|^src\/onnx\/(ort|codec|graph)\.ts$|node_modules\//.test(f));
  assert.deepEqual(forbidden, []);
  const code = readFileSync(await trustedProgramPath(), 'utf8');
  assert.doesNotMatch(code, /require\(["']onnxruntime-(node|web)["']\)|from\s+["']onnxruntime-(node|web)["']/, 'engines are imported lazily (only the chosen one loads)');
  assert.match(code, /import\(["']onnxruntime-node["']\)/);
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
  assert.match(readFileSync(path, 'utf8'), /import\("\/[^"]*onnxruntime-node[^"]*"\)/, 'engines by absolute path');
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
