import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInsecureSimQuote, loadOrCreateInsecureSimChain, reportDataFor } from '../../attest/index.ts';
import { SHARED_ATTESTATION_DIR, SKIP_REASON } from '../../attest/material.testkit.ts';
import { runCli, runMain } from '../cli.testkit.ts';

const dir = mkdtempSync(join(tmpdir(), 'enn-attest-cli-'));
const QUOTE = `${SHARED_ATTESTATION_DIR}/dcap-qvl_sgx_quote.bin`;
const COLLATERAL = `${SHARED_ATTESTATION_DIR}/dcap-qvl_sgx_quote_collateral.json`;
const AT = '2025-06-20T00:00:00Z';

test('attest verify: a real quote with collateral and a matching policy passes (exit 0)', { skip: SKIP_REASON }, async () => {
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({
    mrEnclave: ['33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb'], isvProdId: 0, minIsvSvn: 0, allowDebug: false,
    acceptedTcbStatuses: ['UpToDate', 'ConfigurationAndSWHardeningNeeded'],
  }));
  const r = await runMain(['attest', 'verify', QUOTE, '--root', 'intel', '--policy', policy, '--collateral', COLLATERAL, '--at', AT]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^MRENCLAVE\s+33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb$/m);
  assert.match(r.stdout, /^TCB\s+ConfigurationAndSWHardeningNeeded \(INTEL-SA-00289, INTEL-SA-00615\)/m);
  assert.match(r.stdout, /^verdict\s+VERIFIED at 2025-06-20T00:00:00.000Z$/m);
  const j = JSON.parse((await runMain(['attest', 'verify', QUOTE, '--policy', policy, '--collateral', COLLATERAL, '--at', AT, '--json'])).stdout);
  assert.equal(j.verdict, 'verified');
  assert.equal(j.tcb.status, 'ConfigurationAndSWHardeningNeeded');
  assert.equal(j.root.sha256, '44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3');
  // The root given as a file pins the same fingerprint.
  assert.equal((await runMain(['attest', 'verify', QUOTE, '--root', `${SHARED_ATTESTATION_DIR}/intel_sgx_root_ca.pem`, '--at', AT])).code, 0);
});

test('attest verify: a failed check exits 2 with one line naming it', { skip: SKIP_REASON }, async () => {
  const debug = await runMain(['attest', 'verify', `${SHARED_ATTESTATION_DIR}/automata_quote_sgx_debug.bin`, '--at', AT]);
  assert.equal(debug.code, 2);
  assert.equal(debug.stderr.trim().split('\n').length, 1);
  assert.match(debug.stderr, /^enclave-nn attest: REJECTED \(ATTEST_POLICY_DEBUG\)/);
  assert.match(debug.stdout, /\(DEBUG\)/);
  const late = await runMain(['attest', 'verify', QUOTE, '--collateral', COLLATERAL, '--at', '2025-07-20T00:00:00Z', '--json']);
  assert.equal(late.code, 2);
  assert.match(late.stderr, /REJECTED \(ATTEST_COLLATERAL_EXPIRED\)/);
  assert.equal(JSON.parse(late.stdout).verdict, 'rejected');
  const q = readFileSync(QUOTE);
  q[200]! ^= 0x10; // inside MRSIGNER: signed by the attestation key
  const tampered = join(dir, 'tampered.bin');
  writeFileSync(tampered, q);
  const bad = await runMain(['attest', 'verify', tampered, '--at', AT]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /REJECTED \(ATTEST_QUOTE_SIGNATURE\)/);
});

test('attest verify: a sim quote passes only with --insecure-trust-sim, which announces itself (as a real process)', async () => {
  const simDir = join(dir, 'insecure-sim');
  const chain = loadOrCreateInsecureSimChain(simDir);
  const quotePath = join(dir, 'sim.bin');
  writeFileSync(quotePath, createInsecureSimQuote({ mrEnclave: new Uint8Array(32).fill(1), mrSigner: new Uint8Array(32).fill(2), reportData: reportDataFor(new Uint8Array(32), new Uint8Array(16)) }, chain));
  const refused = await runMain(['attest', 'verify', quotePath, '--allow-debug']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /REJECTED \(ATTEST_ROOT_NOT_PINNED\)/);
  const ok = runCli(['attest', 'verify', quotePath, '--insecure-trust-sim', simDir, '--allow-debug']); // the real process
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /^enclave-nn: INSECURE: /m);
  assert.match(ok.stdout, /^root\s+INSECURE sim root/m);
  // Without --allow-debug the sim quote (always DEBUG) is refused even when its root is trusted.
  assert.match((await runMain(['attest', 'verify', quotePath, `--insecure-trust-sim=${simDir}`])).stderr, /ATTEST_POLICY_DEBUG/);
});

test('attest verify: bad usage exits 2', async () => {
  assert.equal((await runMain(['attest'])).code, 2);
  const r = await runMain(['attest', 'verify', join(dir, 'missing.bin')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Cannot read quote/);
  const policy = join(dir, 'typo.json');
  writeFileSync(policy, JSON.stringify({ mrenclave: ['00'] }));
  const some = join(dir, 'some.bin');
  writeFileSync(some, new Uint8Array(10));
  const typo = await runMain(['attest', 'verify', some, '--policy', policy]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown key 'mrenclave'/);
});
