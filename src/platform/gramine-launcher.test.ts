/**
 * The host's SGX path without SGX hardware: a stand-in `gramine-sgx` (a shell script that runs
 * the same trusted program with `--platform gramine-sgx`, as the manifest's fixed argv does)
 * and a folder imitating /dev/attestation that serves a real quote from a real SGX machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnclaveProcess } from '../enclave/host.ts';
import { trustedProgramPath } from '../enclave/trusted-program.ts';
import { REAL_QUOTES, SKIP_REASON, sharedFile } from '../attest/material.testkit.ts';
import { imitateDevAttestation } from './support.testkit.ts';
import { createBundle } from '../bundle/create.ts';
import { encodeModel } from '../onnx/codec.ts';
import { splitModel } from '../split/extract.ts';
import { mlpModel } from '../onnx/models.testkit.ts';
import { Session } from '../runtime/session.ts';
import { useTempEnclaveHome } from '../runtime/support.testkit.ts';
import { gramineLauncher, platformForPolicy } from './gramine-launcher.ts';

useTempEnclaveHome();

async function fakeGramine(attestationDir: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'enn-fake-gramine-'));
  const program = await trustedProgramPath('gramine-sgx');
  const script = join(dir, 'gramine-sgx');
  // What the signed manifest fixes: node, the program, --platform gramine-sgx --engine ort.
  writeFileSync(script, `#!/bin/sh\nexport ENCLAVE_NN_ATTESTATION_DIR=${JSON.stringify(attestationDir)}\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(program)} --platform gramine-sgx --engine ort\n`);
  chmodSync(script, 0o755);
  return dir;
}

test('platformForPolicy: gramine-sgx only when the policy accepts nothing else', () => {
  assert.equal(platformForPolicy(['gramine-sgx']), 'gramine-sgx');
  assert.equal(platformForPolicy(['sim', 'gramine-sgx']), 'sim');
  assert.equal(platformForPolicy(['sim']), 'sim');
});

test('the gramine launcher runs `gramine-sgx enclave-nn` in <dir>; the enclave reports the real MRENCLAVE', { skip: SKIP_REASON }, async () => {
  const bin = await fakeGramine(imitateDevAttestation(sharedFile(REAL_QUOTES[0].file)));
  assert.deepEqual(gramineLauncher('/opt/sgx')('x', ['--platform', 'sim']), { file: 'gramine-sgx', args: ['enclave-nn'], cwd: '/opt/sgx' });
  const launcher = () => ({ file: join(bin, 'gramine-sgx'), args: [] });
  const e = await EnclaveProcess.start({ platform: 'gramine-sgx', launcher });
  try {
    assert.equal(e.hello.platformKind, 'gramine-sgx');
    assert.equal(Buffer.from(e.hello.measurement).toString('hex'), REAL_QUOTES[0].mrEnclave);
  } finally {
    await e.close();
  }
});

test('a bundle whose policy names gramine-sgx starts the enclave under gramine-sgx; a recorded quote cannot bind a fresh key, so provisioning refuses', { skip: SKIP_REASON }, async () => {
  const bin = await fakeGramine(imitateDevAttestation(sharedFile(REAL_QUOTES[0].file)));
  const split = await splitModel(mlpModel(), { privateLayers: 1 });
  const { bytes, providerKey } = createBundle({
    head: encodeModel(split.head!), tail: encodeModel(split.tail), inputs: split.cutTensors, outputs: split.tailOutputs, headInputs: split.inputs,
    policy: { platforms: [{ kind: 'gramine-sgx', measurements: [REAL_QUOTES[0].mrEnclave] }] },
  });
  const oldPath = process.env.PATH;
  process.env.PATH = `${bin}:${oldPath}`;
  process.env.ENCLAVE_NN_GRAMINE_DIR = bin;
  try {
    await assert.rejects(
      Session.create({ bundle: bytes, keySource: { kind: 'insecure-dev-key', providerKey } }),
      /evidence is not bound to its key and this nonce/,
    );
  } finally {
    process.env.PATH = oldPath;
  }
});
