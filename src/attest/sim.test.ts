import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateP256KeyPair } from '../crypto/ecdsa.ts';
import { certificateToPem, parseCertificate } from '../crypto/x509.ts';
import { createCertificate } from '../crypto/x509-build.ts';
import { codeOf } from './material.testkit.ts';
import {
  INTEL_SGX_ROOT_CA, createInsecureSimChain, createInsecureSimQuote, defaultInsecureSimDir, loadInsecureSimChain, loadOrCreateInsecureSimChain,
  parseQuote, reportDataFor, simRootFingerprint, verifyQuote, type InsecureSimChain,
} from './index.ts';

const mrEnclave = new Uint8Array(32).fill(0xaa);
const mrSigner = new Uint8Array(32).fill(0xbb);
const reportData = reportDataFor(new Uint8Array(32).fill(1), new Uint8Array(32).fill(2));


test('a sim quote round-trips: verifies with the sim root pinned and debug allowed, binding REPORTDATA', () => {
  const chain = createInsecureSimChain();
  const quote = createInsecureSimQuote({ mrEnclave, mrSigner, isvProdId: 5, isvSvn: 6, reportData }, chain);
  const v = verifyQuote(quote, { roots: [chain.root], at: new Date(), policy: { allowDebug: true, mrEnclave: [Buffer.from(mrEnclave).toString('hex')], isvProdId: 5, minIsvSvn: 6, reportData } });
  assert.equal(v.mrSigner, 'bb'.repeat(32));
  assert.equal(v.debug, true);
  assert.equal(v.root.sha256, simRootFingerprint(chain));
  assert.equal(parseQuote(quote).header.version, 3);
});

test('a sim quote always has DEBUG set, so the production policy refuses it', () => {
  const chain = createInsecureSimChain();
  const quote = createInsecureSimQuote({ mrEnclave, mrSigner, reportData, attributes: new Uint8Array(16) }, chain);
  assert.equal(codeOf(() => verifyQuote(quote, { roots: [chain.root], at: new Date(), policy: {} })), 'ATTEST_POLICY_DEBUG');
});

test('a sim quote fails against the Intel root and against another sim root', () => {
  const chain = createInsecureSimChain();
  const quote = createInsecureSimQuote({ mrEnclave, mrSigner, reportData }, chain);
  assert.equal(codeOf(() => verifyQuote(quote, { roots: [INTEL_SGX_ROOT_CA], at: new Date(), policy: { allowDebug: true } })), 'ATTEST_ROOT_NOT_PINNED');
  const other = createInsecureSimChain();
  assert.equal(codeOf(() => verifyQuote(quote, { roots: [other.root], at: new Date(), policy: { allowDebug: true } })), 'ATTEST_ROOT_NOT_PINNED');
});

test('a sim quote bound to another key or nonce fails the REPORTDATA check', () => {
  const chain = createInsecureSimChain();
  const quote = createInsecureSimQuote({ mrEnclave, mrSigner, reportData }, chain);
  const otherKey = reportDataFor(new Uint8Array(32).fill(3), new Uint8Array(32).fill(2));
  const otherNonce = reportDataFor(new Uint8Array(32).fill(1), new Uint8Array(32).fill(4));
  for (const rd of [otherKey, otherNonce]) {
    assert.equal(codeOf(() => verifyQuote(quote, { roots: [chain.root], at: new Date(), policy: { allowDebug: true, reportData: rd } })), 'ATTEST_REPORTDATA');
  }
});

test('a root named "Intel SGX Root CA" with another key is not trusted: pinning is by fingerprint', () => {
  const k = [generateP256KeyPair(), generateP256KeyPair(), generateP256KeyPair()] as const;
  const now = new Date();
  const nb = new Date(now.getTime() - 3600_000);
  const na = new Date(now.getTime() + 3600_000);
  const org = 'Intel Corporation';
  const rootDer = createCertificate({ subjectCN: 'Intel SGX Root CA', organization: org, publicKey: k[0].publicKey, notBefore: nb, notAfter: na, isCA: true }, undefined, k[0].privateKey);
  const interDer = createCertificate({ subjectCN: 'Intel SGX PCK Processor CA', organization: org, publicKey: k[1].publicKey, notBefore: nb, notAfter: na, isCA: true }, { subjectDer: parseCertificate(rootDer).subjectDer, privateKey: k[0].privateKey });
  const leafDer = createCertificate({ subjectCN: 'Intel SGX PCK Certificate', organization: org, publicKey: k[2].publicKey, notBefore: nb, notAfter: na, isCA: false }, { subjectDer: parseCertificate(interDer).subjectDer, privateKey: k[1].privateKey });
  const impostor: InsecureSimChain = {
    dir: undefined, chainPem: certificateToPem(leafDer) + certificateToPem(interDer) + certificateToPem(rootDer),
    root: { name: 'impostor', sha256: parseCertificate(rootDer).sha256 }, pckKey: k[2].privateKey,
  };
  const quote = createInsecureSimQuote({ mrEnclave, mrSigner, reportData }, impostor);
  assert.equal(codeOf(() => verifyQuote(quote, { roots: [INTEL_SGX_ROOT_CA], at: now, policy: { allowDebug: true } })), 'ATTEST_ROOT_NOT_PINNED');
  // The same chain verifies once its own fingerprint is pinned: the chain itself is well formed.
  assert.equal(verifyQuote(quote, { roots: [impostor.root], at: now, policy: { allowDebug: true } }).debug, true);
});

test('loadOrCreateInsecureSimChain persists one chain per directory, keys in a 0600 file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'enn-sim-'));
  try {
    const sub = join(dir, 'insecure-sim');
    assert.equal(codeOf(() => loadInsecureSimChain(sub)), 'ATTEST_SIM_CHAIN');
    const a = loadOrCreateInsecureSimChain(sub);
    const b = loadOrCreateInsecureSimChain(sub);
    const c = loadInsecureSimChain(sub);
    assert.equal(a.root.sha256, b.root.sha256);
    assert.equal(a.root.sha256, c.root.sha256);
    assert.equal(statSync(join(sub, 'chain.json')).mode & 0o777, 0o600);
    // A quote made with the loaded chain verifies with the root another process would load.
    const quote = createInsecureSimQuote({ mrEnclave, mrSigner, reportData }, b);
    assert.equal(verifyQuote(quote, { roots: [c.root], at: new Date(), policy: { allowDebug: true } }).mrEnclave, 'aa'.repeat(32));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flipping bits of a sim quote fails verification', () => {
  const chain = createInsecureSimChain();
  const original = createInsecureSimQuote({ mrEnclave, mrSigner, reportData }, chain);
  for (let i = 0; i < original.length; i += 5) {
    const bytes = new Uint8Array(original);
    bytes[i]! ^= 1 << (i % 8);
    assert.notEqual(codeOf(() => verifyQuote(bytes, { roots: [chain.root], at: new Date(), policy: { allowDebug: true } })), 'ACCEPTED', `flip at ${i}`);
  }
});

test('reportDataFor is SHA-512(key ‖ nonce) and refuses odd sizes', () => {
  assert.equal(reportData.length, 64);
  assert.notDeepEqual(reportData, reportDataFor(new Uint8Array(32).fill(2), new Uint8Array(32).fill(1)));
  assert.throws(() => reportDataFor(new Uint8Array(31), new Uint8Array(32)), RangeError);
  assert.throws(() => reportDataFor(new Uint8Array(32), new Uint8Array(8)), RangeError);
});

test('the default sim chain directory follows $ENCLAVE_NN_HOME, like the sim platform\'s secret', () => {
  const saved = process.env.ENCLAVE_NN_HOME;
  try {
    process.env.ENCLAVE_NN_HOME = '/tmp/enclave-nn-home-test';
    assert.equal(defaultInsecureSimDir(), join('/tmp/enclave-nn-home-test', 'insecure-sim'));
    assert.equal(defaultInsecureSimDir('/elsewhere'), join('/elsewhere', 'insecure-sim'));
  } finally {
    if (saved === undefined) delete process.env.ENCLAVE_NN_HOME;
    else process.env.ENCLAVE_NN_HOME = saved;
  }
});
