/**
 * The one development switch (docs/license-protocol.md §4.5): a server with the INSECURE sim
 * root serves sim models to sim enclaves (DEBUG accepted without allowDebug), never extends the
 * sim root to other models, and without the switch refuses sim models by name. Real sim
 * enclaves over loopback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INTEL_SGX_ROOT_CA } from '../attest/roots.ts';
import { encodeProviderKeyFile } from '../bundle/provider-key.ts';
import { sha256 } from '../crypto/index.ts';
import { localSimMeasurement } from '../enclave/trusted-program.ts';
import { mlpModel } from '../onnx/models.testkit.ts';
import { Session } from '../runtime/session.ts';
import { bundleOfSplit, everySplit, useTempEnclaveHome } from '../runtime/support.testkit.ts';
import { LicenseClient, licenseServerKeyProvider } from './client.ts';
import { LicenseServer } from './server.ts';
import { LicenseService } from './service.ts';
import { insecureSimTrust } from './sim-trust.ts';
import { LicenseStore, type ModelPolicy } from './store.ts';
import { freshPgliteDir } from './pglite.testkit.ts';
import { openPgliteDb } from './store-pglite.ts';

useTempEnclaveHome();
const ADMIN = 'sim-trust-admin-token-0123456789';

/** Registers the model under `policy` on a server with or without the sim switch; provisions one enclave. */
async function provision(policy: ModelPolicy, insecureTrustSim: boolean): Promise<string> {
  const { splits } = await everySplit(mlpModel());
  const { bytes, providerKey } = bundleOfSplit(splits[1]!);
  // A copied empty cluster opens in ≈ 0.4 CPU-s; an in-memory database from the tar template in ≈ 1.7.
  const store = new LicenseStore(await openPgliteDb(await freshPgliteDir()));
  await store.migrate();
  const notices: string[] = [];
  const insecureSimRoot = insecureTrustSim ? insecureSimTrust('test', (s) => notices.push(s)) : undefined;
  if (insecureTrustSim) assert.match(notices.join(''), /INSECURE: test trusts the simulated SGX root .* for sim models/);
  const service = new LicenseService({ store, masterKey: sha256(new TextEncoder().encode(ADMIN)), roots: [INTEL_SGX_ROOT_CA], ...(insecureSimRoot ? { insecureSimRoot } : {}) });
  const server = new LicenseServer(service, ADMIN);
  const { url } = await server.listen(0);
  try {
    const admin = new LicenseClient(url, ADMIN);
    await admin.request('POST', '/v1/admin/models', { providerKey: JSON.parse(new TextDecoder().decode(encodeProviderKeyFile(providerKey))), policy });
    await admin.request('POST', '/v1/admin/customers', { id: 'acme', name: 'ACME' });
    const lic = await admin.request('POST', '/v1/admin/licenses', { customerId: 'acme', modelId: providerKey.modelId, credits: 5 });
    try {
      const s = await Session.create({ bundle: bytes, keySource: licenseServerKeyProvider({ server: url, licenseId: lic.licenseId as string }), enclave: { onStderr: () => undefined } });
      await s.close();
      const [entry] = await store.listAudit({ subject: lic.licenseId as string, outcome: 'ok' }).then((a) => a.filter((e) => e.action === 'provision'));
      return `provisioned: ${entry!.reason}`;
    } catch (e) {
      return `refused: ${(e as { code?: string }).code}`;
    }
  } finally {
    await server.close();
    await store.close();
  }
}

test('a sim model goes to DEBUG sim enclaves only on a server with the INSECURE sim switch', async () => {
  const sim: ModelPolicy = { mrEnclave: [], mrSigner: [], allowDebug: false, minIsvSvn: 0, insecureSim: true };
  assert.match(await provision(sim, true), /^provisioned: INSECURE sim enclave \S+ \(MRENCLAVE \S+, DEBUG/);
  assert.equal(await provision(sim, false), 'refused: ATTEST_SIM_UNTRUSTED');
  // A sim model that names a measurement still checks it.
  assert.equal(await provision({ ...sim, mrEnclave: ['00'.repeat(32)] }, true), 'refused: ATTEST_POLICY_MRENCLAVE');
});

test('the sim switch does not extend the sim root to other models', async () => {
  const policy: ModelPolicy = { mrEnclave: [await localSimMeasurement()], mrSigner: [], allowDebug: true, minIsvSvn: 0 };
  assert.equal(await provision(policy, true), 'refused: ATTEST_ROOT_NOT_PINNED');
});
