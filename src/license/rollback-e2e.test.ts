/**
 * Issue 11 item 1 through the real trusted program (sim platform) and its SEAL/UNSEAL: a host
 * records every grant the license server sent, restores the sealed state file it kept right
 * after provisioning, and replays the grants offline. Each is refused (ENCLAVE_LICENSE); the
 * restore yields exactly offline.maxInferences extra samples (docs/threat-model.md §5.4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateInsecureSimChain } from '../attest/sim.ts';
import { sha256 } from '../crypto/index.ts';
import { decodeStr, encodeStr, PayloadReader } from '../enclave-protocol/index.ts';
import type { EnclaveProcess } from '../enclave/host.ts';
import { LICENSE_MSG } from '../enclave/trusted/enclave-license.ts';
import { trustedProgramPath } from '../enclave/trusted-program.ts';
import { isErrorCode } from '../errors.ts';
import { randomFeeds } from '../onnx/ort.ts';
import { mlpModel, seededRandom } from '../onnx/models.testkit.ts';
import { enclaveNnHome } from '../util/home.ts';
import { Session } from '../runtime/session.ts';
import { bundleOfSplit, everySplit, useTempEnclaveHome } from '../runtime/support.testkit.ts';
import { LicenseClient, licenseServerKeyProvider } from './client.ts';
import { openPgliteDb } from './store-pglite.ts';
import { Fixture } from './support.testkit.ts';

useTempEnclaveHome();
const quiet = { onStderr: () => undefined };

test('real enclave: grants recorded by a proxy and replayed after restoring the sealed state file are refused; the restore gives maxInferences extra samples', async () => {
  const MAX = 100;
  const dir = mkdtempSync(join(tmpdir(), 'enn-rollback-'));
  const model = mlpModel();
  const { view, splits } = await everySplit(model);
  const { bytes, providerKey } = bundleOfSplit(splits[1]!);
  const measurement = Buffer.from(sha256(readFileSync(await trustedProgramPath()))).toString('hex');
  const fx = await Fixture.create(await openPgliteDb(), { chain: loadOrCreateInsecureSimChain(join(enclaveNnHome(), 'insecure-sim')) });
  fx.clock = Math.floor(Date.now() / 1000); // the real enclave checks the license window on the real clock
  const { url } = await fx.server.listen(0);
  const feeds = randomFeeds(view.inputs, 10, seededRandom(7));
  /** Runs batches of 10 until the enclave refuses for want of credits; returns the samples run. */
  const drain = async (s: Session): Promise<number> => {
    for (let n = 0; ; n += 10) {
      try { await s.run(feeds); } catch (e) { assert.ok(isErrorCode(e, 'ENCLAVE_QUOTA'), String(e)); return n; }
    }
  };
  const report = async (e: EnclaveProcess): Promise<string> => decodeStr(new PayloadReader((await e.call(LICENSE_MSG.USAGE_REPORT, [])).body));
  try {
    const s = await fx.licensed(`e2e-${process.pid}`, { credits: 300, maxInferences: MAX, key: providerKey, mrEnclave: measurement });
    const stateFile = join(dir, 'model.enn.license');
    const keySource = licenseServerKeyProvider({ server: url, licenseId: s.licenseId, stateFile });
    let session = await Session.create({ bundle: bytes, keySource, enclave: quiet });
    const sealedAfterProvisioning = readFileSync(stateFile);
    const grants: string[] = [];
    let honest = 0;
    try {
      for (;;) {
        honest += await drain(session);
        // The proxy: every report goes to the server, every grant is kept.
        const u = await new LicenseClient(url).usage(await report(session.enclaveProcess!));
        grants.push(u.grant);
        await session.enclaveProcess!.call(LICENSE_MSG.GRANT, encodeStr(u.grant));
        if (u.granted === 0) break;
      }
    } finally {
      await session.close();
    }
    assert.equal(honest, 300);
    assert.equal(grants.length, 3);

    // Offline: the host puts the old state file back and replays every grant after a fresh report.
    await fx.server.close();
    writeFileSync(stateFile, sealedAfterProvisioning);
    session = await Session.create({ bundle: bytes, keySource, enclave: quiet });
    try {
      // The server is down: the key provider can only have unsealed the restored file.
      assert.equal(((await session.status()).license as { used: number }).used, 0, 'the counters of the restored state');
      let extra = await drain(session);
      for (const g of grants) {
        await report(session.enclaveProcess!);
        await assert.rejects(session.enclaveProcess!.call(LICENSE_MSG.GRANT, encodeStr(g)), (e) => isErrorCode(e, 'ENCLAVE_LICENSE') && /does not answer the latest outstanding report/.test((e as Error).message));
        extra += await drain(session);
      }
      assert.equal(extra, MAX, `extra samples after one restore: ${extra}; the bound is maxInferences = ${MAX}`);
    } finally {
      await session.close();
    }
  } finally {
    await fx.server.close().catch(() => undefined);
    await fx.store.close();
  }
});
