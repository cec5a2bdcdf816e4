/**
 * Sealed state across upgrades (docs/enclave-protocol.md §4.7, §7.3), in process: the enclave
 * state machine on the sim platform at security versions 1 and 2, driven frame by frame.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, wrapToX25519 } from '../../crypto/index.ts';
import {
  FrameReader, MSG, PROTOCOL_VERSION, PayloadReader, decodeAttestOk, decodeBytes, decodeError, decodeStr, encodeAttest, encodeBytes,
  encodeFrame, encodeHello, encodeProvision, frameBytes, type Frame,
} from '../../enclave-protocol/index.ts';
import { encodeProvisionPayload, provisionTranscript } from '../../enclave-protocol/provision-transcript.ts';
import { createSimPlatform } from '../../platform/sim.ts';
import type { SealPolicy } from '../../platform/types.ts';
import { getEngine } from '../engines/index.ts';
import { TrustedEnclave } from './enclave-state.ts';

const home = mkdtempSync(join(tmpdir(), 'enn-seal-upgrade-'));
const program = (name: string) => { const p = join(home, `${name}.cjs`); writeFileSync(p, `// trusted program ${name}\n`); return p; };
const v1 = program('v1');
const v2 = program('v2'); // another build (another measurement) by the same signer

function enclave(programPath: string, isvSvn: number, sealPolicy: SealPolicy = 'mrsigner'): TrustedEnclave {
  return new TrustedEnclave({ platform: createSimPlatform({ programPath, home, isvSvn, sealPolicy }), engine: getEngine('ort') });
}

let id = 1;
/** One request through the real frame codec; an ERROR answer throws with its protocol name. */
async function call(e: TrustedEnclave, type: number, payload: Uint8Array[]): Promise<PayloadReader> {
  const [request] = new FrameReader().push(frameBytes(encodeFrame(type, id++, payload))) as [Frame];
  const [answer] = new FrameReader().push(frameBytes((await e.handle(request)).response)) as [Frame];
  if (answer.type === MSG.ERROR) {
    const err = decodeError(new PayloadReader(answer.body));
    throw Object.assign(new Error(err.message), { protocolName: err.name });
  }
  return new PayloadReader(answer.body);
}

const hello = (e: TrustedEnclave) => call(e, MSG.HELLO, encodeHello({ minVersion: PROTOCOL_VERSION, maxVersion: PROTOCOL_VERSION }));

/** HELLO, ATTEST, PROVISION with a fresh model key, then SEAL: the blob. */
async function sealedBy(e: TrustedEnclave): Promise<Uint8Array> {
  await hello(e);
  const nonce = randomBytes(32);
  const { publicKey, evidence } = decodeAttestOk(await call(e, MSG.ATTEST, encodeAttest(nonce)));
  const modelId = 'upgrade-model';
  const wrapped = wrapToX25519(publicKey, encodeProvisionPayload({ modelKey: randomBytes(32), license: new Uint8Array(0) }), provisionTranscript({ modelId, nonce, evidence }));
  await call(e, MSG.PROVISION, encodeProvision({ modelId, wrapped }));
  return decodeBytes(await call(e, MSG.SEAL, [])).slice();
}

async function unsealIn(e: TrustedEnclave, blob: Uint8Array): Promise<string> {
  await hello(e);
  return decodeStr(await call(e, MSG.UNSEAL, encodeBytes(blob)));
}

const refused = (pattern: RegExp) => (e: unknown) => (e as { protocolName?: string }).protocolName === 'SEAL' && pattern.test((e as Error).message);

test('upgrade: a blob sealed at SVN 1 unseals in a new build at SVN 2 (MRSIGNER policy); a blob from SVN 2 is refused at SVN 1', async () => {
  const old = await sealedBy(enclave(v1, 1));
  assert.deepEqual([...old.subarray(0, 6)], [2, 1, 0, 1, 0, 1], 'head: version 2, mrsigner, product 1, SVN 1');
  assert.equal(await unsealIn(enclave(v2, 2), old), 'upgrade-model');
  const newer = await sealedBy(enclave(v2, 2));
  await assert.rejects(unsealIn(enclave(v1, 1), newer), refused(/sealed by security version 2, newer than this enclave's 1/));
  // The version in the head is authenticated: lowering it does not get a newer blob past the check.
  const lowered = newer.slice(); lowered[5] = 1;
  await assert.rejects(unsealIn(enclave(v1, 1), lowered), refused(/sealed by another program, signer or installation, or modified/));
});

test('MRENCLAVE sealing: only the same build opens the blob; a blob of the other policy is refused by name', async () => {
  const blob = await sealedBy(enclave(v1, 1, 'mrenclave'));
  assert.equal(await unsealIn(enclave(v1, 1, 'mrenclave'), blob), 'upgrade-model');
  await assert.rejects(unsealIn(enclave(v2, 1, 'mrenclave'), blob), refused(/another program/));
  await assert.rejects(unsealIn(enclave(v1, 1), blob), refused(/sealed to mrenclave, this enclave seals to mrsigner/));
  const v1blob = Uint8Array.of(1, ...randomBytes(60));
  await assert.rejects(unsealIn(enclave(v1, 1), v1blob), refused(/version 1 was sealed to MRENCLAVE by an older enclave-nn/));
});
