import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EnclaveProcess, ENCLAVE_ENV_KEYS } from './host.ts';
import { useTempEnclaveHome } from '../runtime/support.testkit.ts';

useTempEnclaveHome();

test('the enclave process gets only the variables it needs (no NODE_OPTIONS, no NODE_EXTRA_CA_CERTS, nothing else)', { skip: process.platform !== 'linux' && 'reads /proc/<pid>/environ (Linux)' }, async () => {
  const saved = { ...process.env };
  process.env.NODE_EXTRA_CA_CERTS = '/nonexistent/ca.pem';
  process.env.ENCLAVE_NN_TEST_CANARY = 'must-not-cross';
  let enclave: EnclaveProcess | undefined;
  try {
    enclave = await EnclaveProcess.start();
    const environ = readFileSync(`/proc/${enclave.pid}/environ`, 'utf8').split('\0').filter((e) => e.length > 0);
    const keys = environ.map((e) => e.slice(0, e.indexOf('=')));
    for (const k of keys) assert.ok((ENCLAVE_ENV_KEYS as readonly string[]).includes(k), `the enclave's environment holds ${k}`);
    assert.ok(keys.includes('ENCLAVE_NN_HOME'), 'the enclave is told its home');
    assert.ok(!keys.includes('NODE_EXTRA_CA_CERTS') && !keys.includes('ENCLAVE_NN_TEST_CANARY'));
  } finally {
    await enclave?.close();
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});
