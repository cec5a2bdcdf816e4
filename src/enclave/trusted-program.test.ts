import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sha256 } from '../crypto/index.ts';
import { EnclaveProcess } from './host.ts';
import { trustedProgramInputs, trustedProgramPath } from './trusted-program.ts';
import { useTempEnclaveHome } from '../runtime/test-support.ts';

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
  assert.doesNotMatch(code, /from\s+["']onnxruntime-(node|web)["']/, 'engines are imported lazily (only the chosen one loads)');
});
