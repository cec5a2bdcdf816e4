import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EnclaveNnError } from '../errors.ts';
import { verifyQuote } from './verify.ts';
import { readVectors } from './vectors.testkit.ts';

const vectors = readVectors();

test('the attest vector set covers success and every failure class', () => {
  assert.ok(vectors.length >= 19);
  assert.deepEqual([...new Set(vectors.map((v) => v.expect))].sort(), ['chain-failure', 'parse-failure', 'policy-failure', 'signature-failure', 'success']);
});

for (const v of vectors) {
  test(`vector ${v.name}: ${v.expect}${v.code ? ` (${v.code})` : ''}`, () => {
    const policy = {
      ...(v.policy.mrEnclave ? { mrEnclave: v.policy.mrEnclave } : {}),
      allowDebug: v.policy.allowDebug === true,
      ...(v.policy.reportData ? { reportData: new Uint8Array(Buffer.from(v.policy.reportData, 'hex')) } : {}),
    };
    const run = () => verifyQuote(v.quote, { roots: [{ name: 'vector root', sha256: v.rootSha256 }], at: v.at, policy });
    if (v.expect === 'success') {
      assert.equal(run().mrEnclave, v.policy.mrEnclave?.[0]);
      return;
    }
    assert.throws(run, (e: unknown) => e instanceof EnclaveNnError && e.code === v.code, `${v.name}: ${v.comment}`);
  });
}
