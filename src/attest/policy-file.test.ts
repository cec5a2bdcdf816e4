import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isErrorCode } from '../errors.ts';
import { parsePolicyFile } from './policy-file.ts';

const m = 'ab'.repeat(32);

test('parsePolicyFile maps the QuotePolicy keys and acceptedTcbStatuses', () => {
  const { policy, tcb } = parsePolicyFile({ mrEnclave: [m], isvProdId: 3, allowDebug: false, reportData: 'cd'.repeat(64), acceptedTcbStatuses: ['UpToDate', 'SWHardeningNeeded'] }, 'p.json');
  assert.deepEqual(policy.mrEnclave, [m]);
  assert.equal(policy.isvProdId, 3);
  assert.equal(policy.allowDebug, false);
  assert.equal(policy.reportData?.byteLength, 64);
  assert.deepEqual(tcb, { acceptedStatuses: ['UpToDate', 'SWHardeningNeeded'] });
});

test('parsePolicyFile refuses an unknown key (a typo must not widen the policy), naming it and the file', () => {
  assert.throws(() => parsePolicyFile({ mrEnclaves: [m] }, 'p.json'), (e) => isErrorCode(e, 'USAGE') && /p\.json: unknown key 'mrEnclaves'/.test((e as Error).message));
});

test('parsePolicyFile refuses what is not an object, and values of the wrong type', () => {
  for (const bad of [null, [], 'x', 1]) assert.throws(() => parsePolicyFile(bad, 'p.json'), (e) => isErrorCode(e, 'USAGE') && /expected a JSON object/.test((e as Error).message));
  assert.throws(() => parsePolicyFile({ isvProdId: 70000 }, 'p.json'), /isvProdId must be an integer 0\.\.65535/);
  assert.throws(() => parsePolicyFile({ mrSigner: 'ab' }, 'p.json'), /mrSigner must be a list of strings/);
  assert.throws(() => parsePolicyFile({ reportData: 'ab' }, 'p.json'), /reportData must be 64 bytes of hex/);
});
