/**
 * Acceptance (issue 5), end to end over loopback with a real enclave process (sim platform):
 * the provider splits a model, registers it, grants 100 inferences; the customer provisions
 * once; with the server stopped, a fresh session starts offline from the sealed state and runs
 * 100 inferences; the 101st fails with the quota error; with the server back a top-up restores
 * service; after revocation no top-up is granted. Against the embedded store and, when
 * ENCLAVE_NN_TEST_PG is set, a real PostgreSQL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateInsecureSimChain } from '../attest/sim.ts';
import { encodeProviderKeyFile } from '../bundle/provider-key.ts';
import { sha256 } from '../crypto/index.ts';
import { trustedProgramPath } from '../enclave/trusted-program.ts';
import { isErrorCode } from '../errors.ts';
import { randomFeeds } from '../onnx/ort.ts';
import { mlpModel, seededRandom } from '../onnx/models.testkit.ts';
import { Session } from '../runtime/session.ts';
import { bundleOfSplit, everySplit, useTempEnclaveHome } from '../runtime/support.testkit.ts';
import { checkIn, LicenseClient, licenseServerKeyProvider, saveLicenseState } from './client.ts';
import { LicenseServer } from './server.ts';
import { LicenseService } from './service.ts';
import { LicenseStore, type SqlDb } from './store.ts';
import { openPgDb } from './store-pg.ts';
import { openPgliteDb } from './store-pglite.ts';

useTempEnclaveHome();
const quiet = { onStderr: () => undefined };
const ADMIN = 'e2e-admin-token-0123456789abcdef';

async function e2e(openDb: () => Promise<SqlDb>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'enn-license-e2e-'));
  // Provider: split a model into a bundle + provider key file.
  const model = mlpModel();
  const { view, splits } = await everySplit(model);
  const { bytes, providerKey } = bundleOfSplit(splits[1]!);
  const measurement = Buffer.from(sha256(readFileSync(await trustedProgramPath()))).toString('hex');
  // The server trusts this installation's INSECURE sim root, as `--insecure-trust-sim` does.
  const chain = loadOrCreateInsecureSimChain();
  const store = new LicenseStore(await openDb());
  await store.migrate();
  const service = new LicenseService({ store, masterKey: sha256(new TextEncoder().encode(dir)), roots: [chain.root] });
  let server = new LicenseServer(service, ADMIN);
  let { url } = await server.listen(0);
  try {
    const admin = new LicenseClient(url, ADMIN);
    await admin.request('POST', '/v1/admin/models', {
      providerKey: JSON.parse(new TextDecoder().decode(encodeProviderKeyFile(providerKey))),
      policy: { mrEnclave: [measurement], mrSigner: [], allowDebug: true, minIsvSvn: 0 },
    });
    const customerId = `acme-${Date.now()}`;
    await admin.request('POST', '/v1/admin/customers', { id: customerId, name: 'ACME' });
    const lic = await admin.request('POST', '/v1/admin/licenses', { customerId, modelId: providerKey.modelId, credits: 100 });
    const licenseId = lic.licenseId as string;

    // Customer: provision once (online), keep the sealed state file.
    const stateFile = join(dir, 'model.enn.license');
    let session = await Session.create({ bundle: bytes, keySource: licenseServerKeyProvider({ server: url, licenseId, stateFile }), enclave: quiet });
    assert.equal(session.startup!.via, 'provisioned');
    await session.close();

    // The server goes away; a new session starts offline from the sealed state.
    await server.close();
    session = await Session.create({ bundle: bytes, keySource: licenseServerKeyProvider({ server: url, licenseId, stateFile }), enclave: quiet });
    try {
      const feeds = randomFeeds(view.inputs, 1, seededRandom(3));
      for (let i = 0; i < 100; i++) await session.run(feeds);
      await assert.rejects(session.run(feeds), (e) => isErrorCode(e, 'ENCLAVE_QUOTA') && /quota exhausted: 0 credits left, 1 asked \(one credit per sample; 100 of 100 used/.test((e as Error).message));
      const st = await session.status();
      assert.equal((st.license as { used: number }).used, 100);
      await saveLicenseState(session.enclaveProcess!, stateFile);
      // Offline, a check-in cannot happen.
      await assert.rejects(checkIn(session.enclaveProcess!, url), (e) => isErrorCode(e, 'LICENSE_SERVER_UNREACHABLE'));

      // The server is back (same database, new port): no credits left, so nothing is granted…
      server = new LicenseServer(service, ADMIN);
      ({ url } = await server.listen(0));
      assert.deepEqual(await checkIn(session.enclaveProcess!, url, { stateFile }), { granted: 0, allowance: 100 });
      await assert.rejects(session.run(feeds), (e) => isErrorCode(e, 'ENCLAVE_QUOTA'));
      // …until the customer buys more: the top-up restores service.
      await new LicenseClient(url, ADMIN).request('POST', `/v1/admin/licenses/${licenseId}/credits`, { credits: 100 });
      assert.deepEqual(await checkIn(session.enclaveProcess!, url, { stateFile }), { granted: 100, allowance: 200 });
      await session.run(randomFeeds(view.inputs, 8, seededRandom(4)));
      assert.equal(((await session.status()).license as { used: number }).used, 108, 'credits count samples, not calls');

      // Revoked: the report is recorded, no top-up.
      await new LicenseClient(url, ADMIN).request('POST', `/v1/admin/licenses/${licenseId}/revoke`, { reason: 'e2e' });
      await assert.rejects(checkIn(session.enclaveProcess!, url, { stateFile }), (e) => isErrorCode(e, 'LICENSE_REVOKED') && /no top-up/.test((e as Error).message));
      const usage = await new LicenseClient(url, ADMIN).request<{ usage: { used: number; creditsGranted: number }[] }>('GET', `/v1/admin/usage?customer=${customerId}`);
      assert.deepEqual([usage.usage[0]!.used, usage.usage[0]!.creditsGranted], [108, 200]);
      assert.equal(await store.ledgerTotal(licenseId), 200);
    } finally {
      await session.close();
    }
  } finally {
    await server.close();
    await store.close();
  }
}

test('e2e on loopback, embedded store (PGlite in a data directory)', async () => {
  await e2e(() => openPgliteDb(mkdtempSync(join(tmpdir(), 'enn-pglite-'))));
});

const pgUrl = process.env.ENCLAVE_NN_TEST_PG;
test('e2e on loopback, PostgreSQL', { skip: !pgUrl && 'needs ENCLAVE_NN_TEST_PG=postgres://… (scripts/with-postgres.sh starts one)' }, async () => {
  await e2e(() => openPgDb(pgUrl!));
});
