// Collateral logic on a synthetic DCAP world rooted in a fresh test root (the real collateral
// exercises one path only): TCB level selection, QE convergence, revocation, mismatches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EnclaveNnError } from '../errors.ts';
import { verifyQuote, type TcbStatus } from './index.ts';
import { codeOf as codeOfCall } from './material.testkit.ts';
import { C, level, makeWorld, NOW, type WorldOptions } from './world.testkit.ts';

const world = makeWorld();
const ALL: TcbStatus[] = ['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded', 'Revoked'];
const run = (o: WorldOptions = {}) => verifyQuote(world.quote, { roots: [world.root], at: NOW, policy: { allowDebug: true }, collateral: world.collateral(o), tcbPolicy: { acceptedStatuses: ALL } });
function codeOf(o: WorldOptions): string {
  return codeOfCall(() => run(o));
}

test('synthetic collateral: the highest level the PCK reaches is selected', () => {
  assert.equal(run().tcb?.status, 'UpToDate');
  // A newer level above the PCK's component 1 (12 > 11) is skipped; the next one applies.
  const r = run({ tcbLevels: [level(C(12), 13, 'UpToDate'), level(C(11), 13, 'SWHardeningNeeded', ['INTEL-SA-2']), level(C(10), 13, 'OutOfDate')] });
  assert.equal(r.tcb?.status, 'SWHardeningNeeded');
  assert.deepEqual(r.tcb?.advisoryIds, ['INTEL-SA-2']);
  // PCESVN counts too: a level requiring PCESVN 14 is skipped.
  assert.equal(run({ tcbLevels: [level(C(11), 14, 'UpToDate'), level(C(11), 13, 'ConfigurationNeeded')] }).tcb?.status, 'ConfigurationNeeded');
  // Below every level: no status at all.
  assert.equal(codeOf({ tcbLevels: [level(C(12), 13, 'UpToDate')] }), 'ATTEST_TCB');
});

test('synthetic collateral: an out-of-date QE downgrades the platform status (Intel QVL convergence)', () => {
  const qeOld = [{ tcb: { isvsvn: 1 }, tcbDate: '2024-01-01T00:00:00Z', tcbStatus: 'UpToDate' }, { tcb: { isvsvn: 0 }, tcbDate: '2023-01-01T00:00:00Z', tcbStatus: 'OutOfDate', advisoryIDs: ['INTEL-SA-Q'] }];
  const r = run({ qeLevels: qeOld, tcbLevels: [level(C(11), 13, 'SWHardeningNeeded', ['INTEL-SA-2'])] });
  assert.equal(r.tcb?.status, 'OutOfDate');
  assert.equal(r.tcb?.qeStatus, 'OutOfDate');
  assert.equal(r.tcb?.platformStatus, 'SWHardeningNeeded');
  assert.deepEqual(r.tcb?.advisoryIds, ['INTEL-SA-2', 'INTEL-SA-Q']);
  assert.equal(run({ qeLevels: qeOld, tcbLevels: [level(C(11), 13, 'ConfigurationAndSWHardeningNeeded')] }).tcb?.status, 'OutOfDateConfigurationNeeded');
  const revoked = [{ tcb: { isvsvn: 0 }, tcbDate: '2023-01-01T00:00:00Z', tcbStatus: 'Revoked' }];
  assert.equal(run({ qeLevels: revoked }).tcb?.status, 'Revoked');
  assert.equal(codeOf({ qeLevels: [{ tcb: { isvsvn: 1 }, tcbDate: '2024-01-01T00:00:00Z', tcbStatus: 'UpToDate' }] }), 'ATTEST_TCB');
});

test('synthetic collateral: revoked certificates are refused', () => {
  assert.equal(codeOf({ pckRevoked: [world.leafSerial] }), 'ATTEST_REVOKED');
  assert.equal(codeOf({ rootRevoked: [world.caSerial] }), 'ATTEST_REVOKED');
  assert.equal(codeOf({ pckRevoked: ['01', '7f'] }), 'ACCEPTED');
});

test('synthetic collateral: FMSPC, QE identity and signer mismatches are refused', () => {
  assert.equal(codeOf({ fmspc: '00906ed50001' }), 'ATTEST_TCB_MISMATCH');
  assert.equal(codeOf({ qeMrSigner: 'AB'.repeat(32) }), 'ATTEST_QE_IDENTITY');
  // Masked ATTRIBUTES: a full mask still matches when the identity lists the QE's value; other values do not.
  assert.equal(codeOf({ attributesMask: 'FFFFFFFFFFFFFFFF0000000000000000' }), 'ACCEPTED');
  assert.equal(codeOf({ attributesMask: 'FFFFFFFFFFFFFFFF0000000000000000', qeAttributes: '05000000000000000000000000000000' }), 'ATTEST_QE_IDENTITY');
  assert.equal(codeOf({ tcbSigner: 'misnamed' }), 'ATTEST_CHAIN');
});

test('synthetic collateral: the TCB policy is applied to the converged status', () => {
  const opts = { roots: [world.root], at: NOW, policy: { allowDebug: true }, collateral: world.collateral({ tcbLevels: [level(C(11), 13, 'OutOfDate')] }) };
  assert.throws(() => verifyQuote(world.quote, opts), (e: unknown) => e instanceof EnclaveNnError && e.code === 'ATTEST_TCB');
  assert.equal(verifyQuote(world.quote, { ...opts, tcbPolicy: { acceptedStatuses: ['OutOfDate'] } }).tcb?.status, 'OutOfDate');
});
