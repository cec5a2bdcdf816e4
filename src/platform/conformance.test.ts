/**
 * One conformance suite for every platform (STYLE.md 8, 9): `sim` defines the interface, and
 * `gramine-sgx` is held to the same checks, run against a folder that imitates Gramine's
 * `/dev/attestation` and serves a real quote recorded on a real SGX machine. Each skip states
 * its reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseQuote } from '../attest/quote.ts';
import { verifyQuote } from '../attest/verify.ts';
import { INTEL_SGX_ROOT_CA, pinnedRoot } from '../attest/roots.ts';
import { loadOrCreateInsecureSimChain, simRootFingerprint } from '../attest/sim.ts';
import { REAL_QUOTES, REAL_QUOTE_TIME, SKIP_REASON, sharedFile } from '../attest/material.testkit.ts';
import { randomBytes } from '../crypto/index.ts';
import { isErrorCode } from '../errors.ts';
import { createPlatform } from './registry.ts';
import type { PinnedRoot } from '../attest/types.ts';
import type { Platform } from './types.ts';
import { imitateDevAttestation } from './support.testkit.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

interface Subject {
  name: string;
  make: () => Platform;
  /** Another trusted program (another measurement) on the same installation. */
  makeOther: () => Platform;
  roots: () => PinnedRoot[];
  at: Date;
  skip: false | string;
  /** Checks that cannot hold for this subject, with the reason. */
  skips: Record<string, string>;
}

const home = mkdtempSync(join(tmpdir(), 'enn-platform-home-'));
const programA = join(home, 'program-a.js');
const programB = join(home, 'program-b.js');
writeFileSync(programA, '// trusted program A\n');
writeFileSync(programB, '// trusted program B\n');

const subjects: Subject[] = [
  {
    name: 'sim',
    make: () => createPlatform('sim', { programPath: programA, home }),
    makeOther: () => createPlatform('sim', { programPath: programB, home }),
    roots: () => [pinnedRoot('enclave-nn INSECURE sim root', simRootFingerprint(loadOrCreateInsecureSimChain(join(home, 'insecure-sim'))))],
    at: new Date(),
    skip: false,
    skips: {},
  },
];
if (!SKIP_REASON) {
  const real = sharedFile(REAL_QUOTES[0].file);
  const dirA = imitateDevAttestation(real);
  const dirB = imitateDevAttestation(real);
  subjects.push({
    name: 'gramine-sgx',
    make: () => createPlatform('gramine-sgx', { programPath: programA, home, attestationDir: dirA } as never),
    makeOther: () => createPlatform('gramine-sgx', { programPath: programA, home, attestationDir: dirB } as never),
    roots: () => [INTEL_SGX_ROOT_CA],
    at: REAL_QUOTE_TIME,
    skip: false,
    skips: {
      'evidence carries the caller\'s REPORTDATA': 'the imitation serves a recorded quote whose REPORTDATA is fixed ("Hello, world!"); real Gramine embeds what was written to user_report_data',
    },
  });
} else {
  subjects.push({ name: 'gramine-sgx', make: () => { throw new Error('unreachable'); }, makeOther: () => { throw new Error('unreachable'); }, roots: () => [], at: new Date(), skip: SKIP_REASON, skips: {} });
}

for (const s of subjects) {
  const check = (name: string, fn: () => Promise<void> | void) => test(`platform ${s.name}: ${name}`, { skip: s.skip || s.skips[name] || false }, fn);

  check('kind names the platform', () => assert.equal(s.make().kind, s.name));

  check('measurement is 32 bytes and stable', () => {
    const p = s.make();
    assert.equal(p.measurement().length, 32);
    assert.deepEqual(p.measurement(), p.measurement());
  });

  check('evidence is a DCAP quote v3 of this measurement that verifies under the platform root', async () => {
    const p = s.make();
    const rd = randomBytes(64);
    const quote = await p.evidence(rd);
    const q = parseQuote(quote);
    assert.equal(q.header.version, 3);
    assert.equal(hex(q.body.mrEnclave), hex(p.measurement()));
    const v = verifyQuote(quote, { roots: s.roots(), at: s.at, policy: { mrEnclave: [hex(p.measurement())], allowDebug: s.name === 'sim' } });
    assert.equal(v.mrEnclave, hex(p.measurement()));
  });

  check('evidence carries the caller\'s REPORTDATA', async () => {
    const p = s.make();
    const rd = randomBytes(64);
    assert.equal(hex(parseQuote(await p.evidence(rd)).body.reportData), hex(rd));
  });

  check('sealing key is 32 bytes, stable across restarts of the same program', () => {
    const a = s.make().sealingKey();
    assert.equal(a.length, 32);
    assert.deepEqual(s.make().sealingKey(), a);
  });

  check('another trusted program derives another sealing key', () => {
    assert.notDeepEqual(s.makeOther().sealingKey(), s.make().sealingKey());
  });

  check('evidence rejects REPORTDATA that is not 64 bytes', async () => {
    await assert.rejects(async () => s.make().evidence(new Uint8Array(32)));
  });
}

test('gramine-sgx: writes the REPORTDATA to user_report_data and refuses a non-DCAP attestation type', { skip: SKIP_REASON }, async () => {
  const real = sharedFile(REAL_QUOTES[0].file);
  const dir = imitateDevAttestation(real);
  const p = createPlatform('gramine-sgx', { programPath: programA, home, attestationDir: dir } as never);
  const rd = randomBytes(64);
  await p.evidence(rd);
  assert.equal(hex(readFileSync(join(dir, 'user_report_data'))), hex(rd));
  assert.equal(hex(p.measurement()), REAL_QUOTES[0].mrEnclave);
  const epid = imitateDevAttestation(real, 'epid');
  assert.throws(() => createPlatform('gramine-sgx', { programPath: programA, home, attestationDir: epid } as never), (e) => isErrorCode(e, 'PLATFORM_GRAMINE') && /reads 'epid', expected 'dcap'/.test((e as Error).message));
  assert.throws(() => createPlatform('gramine-sgx', { programPath: programA, home, attestationDir: join(dir, 'nope') } as never), (e) => isErrorCode(e, 'PLATFORM_GRAMINE'));
});

test('gramine-sgx: evidence from the imitated /dev/attestation is accepted by the verifier under a policy with its MRENCLAVE (and refused under another)', { skip: SKIP_REASON }, async () => {
  const real = sharedFile(REAL_QUOTES[0].file);
  const p = createPlatform('gramine-sgx', { programPath: programA, home, attestationDir: imitateDevAttestation(real) } as never);
  const quote = await p.evidence(Buffer.concat([Buffer.from('Hello, world!'), Buffer.alloc(51)]));
  const policy = { mrEnclave: [REAL_QUOTES[0].mrEnclave], reportData: new Uint8Array(Buffer.concat([Buffer.from('Hello, world!'), Buffer.alloc(51)])) };
  const v = verifyQuote(quote, { roots: [INTEL_SGX_ROOT_CA], at: REAL_QUOTE_TIME, policy });
  assert.equal(v.mrEnclave, REAL_QUOTES[0].mrEnclave);
  assert.equal(v.debug, false);
  assert.throws(() => verifyQuote(quote, { roots: [INTEL_SGX_ROOT_CA], at: REAL_QUOTE_TIME, policy: { mrEnclave: ['00'.repeat(32)] } }));
});
