/**
 * The server under a license (real license server on loopback, embedded store, two sim
 * enclaves): concurrent clients spend the credits exactly — the samples answered equal the
 * samples the enclaves counted and the server was told of, refused requests cost nothing and get
 * 429 with the protocol's error body — and a background check-in after a purchase restores service.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateInsecureSimChain } from '../attest/sim.ts';
import { encodeProviderKeyFile } from '../bundle/provider-key.ts';
import { sha256 } from '../crypto/index.ts';
import { trustedProgramPath } from '../enclave/trusted-program.ts';
import { LicenseClient, licenseServerKeyProvider } from '../license/client.ts';
import { LicenseServer } from '../license/server.ts';
import { LicenseService } from '../license/service.ts';
import { LicenseStore } from '../license/store.ts';
import { openPgliteDb } from '../license/store-pglite.ts';
import { maxAbsDiff } from '../onnx/ort.ts';
import { useTempEnclaveHome } from '../runtime/support.testkit.ts';
import { InferenceServer } from './server.ts';
import { mlpBundle, mlpInput, reference } from './support.testkit.ts';

useTempEnclaveHome();
const ADMIN = 'serve-admin-token-0123456789abcdef';
const utf8 = new TextEncoder();

test('credits are spent exactly under concurrency across two enclaves; quota → 429; a check-in after a purchase restores service', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enn-serve-lic-'));
  const fx = await mlpBundle();
  const measurement = Buffer.from(sha256(readFileSync(await trustedProgramPath()))).toString('hex');
  const chain = loadOrCreateInsecureSimChain();
  const store = new LicenseStore(await openPgliteDb(join(dir, 'db')));
  await store.migrate();
  const ls = new LicenseServer(new LicenseService({ store, masterKey: sha256(utf8.encode(dir)), roots: [chain.root] }), ADMIN);
  const { url } = await ls.listen(0);
  let server: InferenceServer | undefined;
  try {
    const admin = new LicenseClient(url, ADMIN);
    await admin.request('POST', '/v1/admin/models', {
      providerKey: JSON.parse(new TextDecoder().decode(encodeProviderKeyFile(fx.providerKey))),
      policy: { mrEnclave: [measurement], mrSigner: [], allowDebug: true, minIsvSvn: 0 },
    });
    await admin.request('POST', '/v1/admin/customers', { id: 'acme', name: 'ACME' });
    // 12 credits, at most 6 per enclave offline: each of the two enclaves starts with 6.
    const lic = await admin.request('POST', '/v1/admin/licenses', { customerId: 'acme', modelId: fx.providerKey.modelId, credits: 12, offline: { maxInferences: 6 } });
    const licenseId = lic.licenseId as string;
    const stateFile = (i: number): string => join(dir, `state.${i}`);
    const logs: string[] = [];
    server = await InferenceServer.create({
      bundle: fx.bundle, name: 'mlp', enclaves: 2, maxBatch: 4, maxWaitMs: 10,
      keySource: (i) => licenseServerKeyProvider({ server: url, licenseId, stateFile: stateFile(i) }),
      license: { server: url, stateFile, checkinIntervalMs: 250 },
      session: { enclave: { onStderr: () => undefined } }, log: (l) => logs.push(l),
    });
    const s = server;
    const used = async (): Promise<number> => {
      let n = 0;
      for (const x of s.sessions) n += ((await x.status()).license as { used: number }).used;
      return n;
    };
    const post = async (samples: number, seed: number): Promise<{ status: number; json: Record<string, unknown>; samples: number; seed: number }> => {
      const x = mlpInput(samples, seed);
      const res = await s.handle({ method: 'POST', url: '/v2/models/mlp/infer', headers: {}, body: utf8.encode(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: x.dims, data: Array.from(x.data as Float32Array) }] })) });
      return { status: res.status, json: JSON.parse(new TextDecoder().decode(res.body)) as Record<string, unknown>, samples, seed };
    };
    const sizes = [1, 2, 3, 1, 2, 1, 3, 2, 1, 1, 2, 3, 1, 2];
    const answers = await Promise.all(sizes.map((n, i) => post(n, 500 + i)));
    let served = 0;
    for (const a of answers) {
      if (a.status === 200) {
        served += a.samples;
        const out = (a.json.outputs as { shape: number[]; data: number[] }[])[0]!;
        assert.ok(maxAbsDiff({ dtype: 'float32', dims: out.shape, data: Float32Array.from(out.data) }, await reference(fx.model, mlpInput(a.samples, a.seed))) <= 1e-5);
      } else {
        assert.equal(a.status, 429, JSON.stringify(a.json));
        assert.deepEqual(Object.keys(a.json), ['error']);
        assert.match(a.json.error as string, /quota exhausted: \d+ credits left, \d+ asked \(one credit per sample; \d+ of \d+ used\)/);
      }
    }
    assert.ok(answers.some((a) => a.status === 429), 'more samples were asked than the 12 credits');
    assert.equal(await used(), served, 'the enclaves counted exactly the samples answered');
    assert.ok(served <= 12 && served >= 12 - 2 * 2, `served ${served} of 12 credits`);

    // The customer buys 10 more; the background check-in (every 250 ms here) tops the enclaves
    // up without any inference request asking for it.
    await admin.request('POST', `/v1/admin/licenses/${licenseId}/credits`, { credits: 10 });
    const granted = async (): Promise<number> => (await admin.request<{ usage: { creditsGranted: number }[] }>('GET', '/v1/admin/usage?customer=acme')).usage[0]!.creditsGranted;
    const t0 = performance.now();
    while (await granted() <= 12 && performance.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 100));
    assert.ok(await granted() > 12, 'a background check-in took the new credits');
    assert.deepEqual(logs.filter((l) => /check-in/.test(l) && /failed/.test(l)), []);
    const more = await post(3, 900);
    assert.equal(more.status, 200, JSON.stringify(more.json));
    served += 3;
    assert.equal(await used(), served);
    await s.checkInAll();
    const usage = await admin.request<{ usage: { used: number; creditsGranted: number }[] }>('GET', '/v1/admin/usage?customer=acme');
    assert.equal(usage.usage[0]!.used, served, 'the license server was told exactly the samples answered');
    await s.close();
    assert.ok(existsSync(stateFile(0)) && existsSync(stateFile(1)), 'each enclave sealed its license state to disk');
  } finally {
    await server?.close();
    await ls.close();
    await store.close();
  }
});
