/**
 * Load benchmark of the license server (issue 5): 50 concurrent clients × 20 top-ups against
 * two server processes sharing one PostgreSQL. Checks that the credits granted to the clients
 * equal the ledger exactly (no double spend) and that no request got a 5xx; prints requests/s
 * and latency percentiles of the top-ups. Not a test: run it by hand.
 *
 *   scripts/with-postgres.sh npx tsx bench/license-load.ts [--clients 50] [--topups 20]
 *
 * Each client is an in-process stand-in for an enclave (INSECURE sim quotes, a real report key):
 * it provisions once, then repeatedly spends its whole allowance and checks in. The license has
 * fewer credits than the clients want, so the last top-ups race for the remainder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSeconds, postgresCpuSeconds } from './proc-cpu.ts';
import { loadOrCreateInsecureSimChain } from '../src/attest/sim.ts';
import { encodeProviderKeyFile } from '../src/bundle/provider-key.ts';
import { LicenseClient } from '../src/license/client.ts';
import { openPgDb } from '../src/license/store-pg.ts';
import { LicenseStore } from '../src/license/store.ts';
import { TEST_MRENCLAVE_HEX, TestEnclave, testProviderKey } from '../src/license/support.testkit.ts';

const { values } = parseArgs({ options: { clients: { type: 'string' }, topups: { type: 'string' }, db: { type: 'string' }, grace: { type: 'string' }, rate: { type: 'string' } } });
const CLIENTS = Number(values.clients ?? 50);
const TOPUPS = Number(values.topups ?? 20);
const GRACE = Number(values.grace ?? 10);
// --rate R paces the clients to R requests/s in total (each client sends on a fixed schedule,
// one request in flight at most). Without it the clients are closed-loop: each sends its next
// request as soon as the last one is answered, so mean latency = clients / throughput.
const RATE = values.rate === undefined ? undefined : Number(values.rate);
const db = values.db ?? process.env.ENCLAVE_NN_TEST_PG;
if (!db) { console.error('license-load: needs --db postgres://… or ENCLAVE_NN_TEST_PG (scripts/with-postgres.sh starts one)'); process.exit(2); }

const dir = mkdtempSync(join(tmpdir(), 'enn-license-load-'));
const home = join(dir, 'home');
const env = { ...process.env, ENCLAVE_NN_HOME: home, ENCLAVE_NN_ADMIN_TOKEN: 'load-admin-token-0123456789abcdef', ENCLAVE_NN_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') };
process.env.ENCLAVE_NN_HOME = home;
const chain = loadOrCreateInsecureSimChain(join(home, 'insecure-sim'));

function startServer(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...(process.env.LICENSE_LOAD_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.LICENSE_LOAD_PROFILE] : []), 'bin/enclave-nn.js', 'license-server', '--db', db!, '--data', join(dir, 'data'), '--port', '0', '--insecure-trust-sim'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); if (process.env.ENCLAVE_NN_DEBUG) process.stderr.write(c); });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`license-server exited with ${code}: ${err}`)));
  });
}


// node:http with a keep-alive agent: a lighter load generator than fetch, so more of the
// shared CPU goes to the servers under test.
const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
function post(base: string, path: string, body: string, method = 'POST'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, { method, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const servers = await Promise.all([startServer(), startServer()]);
const urls = servers.map((s) => s.url);
try {
  const admin = new LicenseClient(urls[0]!, env.ENCLAVE_NN_ADMIN_TOKEN);
  const key = testProviderKey(`load-model-${Date.now()}`);
  await admin.request('POST', '/v1/admin/models', {
    providerKey: JSON.parse(new TextDecoder().decode(encodeProviderKeyFile(key))),
    // A sim model (INSECURE): the servers trust the sim root for sim models only.
    policy: { mrEnclave: [TEST_MRENCLAVE_HEX], mrSigner: [], allowDebug: true, minIsvSvn: 0, insecureSim: true },
  });
  const customerId = `load-${Date.now()}`;
  await admin.request('POST', '/v1/admin/customers', { id: customerId });
  // Demand: every client wants GRACE per provisioning and per top-up; supply is ~60% of it.
  const demand = CLIENTS * GRACE * (TOPUPS + 1);
  const credits = Math.floor(demand * 0.6);
  const lic = await admin.request('POST', '/v1/admin/licenses', { customerId, modelId: key.modelId, credits, offline: { maxInferences: GRACE, maxSeconds: 86400 } });
  const licenseId = lic.licenseId as string;
  const clients = urls.map((u) => new LicenseClient(u));

  // Provision every client (not timed).
  const enclaves = await Promise.all(Array.from({ length: CLIENTS }, async (_, i) => {
    const c = clients[i % 2]!;
    const e = new TestEnclave(chain);
    const ch = await c.challenge(licenseId);
    const a = e.attest(ch.nonce);
    const p = await c.provision({ licenseId, nonce: ch.nonce, evidence: a.evidence, keyPub: a.keyPub });
    e.provision({ modelId: key.modelId, nonce: ch.nonce, evidence: a.evidence, wrapped: p.wrapped, providerKey: key.signingPublicKey, now: Math.floor(Date.now() / 1000) });
    return e;
  }));
  let received = enclaves.reduce((s, e) => s + e.enforcer!.status().allowance, 0);

  // The timed part: CLIENTS concurrent loops of TOPUPS check-ins, alternating servers.
  const latencies: number[] = [];
  let fivexx = 0;
  let refused = 0;
  // Open the keep-alive connections before timing (connection setup is not what is measured).
  await Promise.all(enclaves.map((_, i) => post(urls[i % 2]!, '/v1/health', '', 'GET')));
  await Promise.all(enclaves.map((_, i) => post(urls[(i + 1) % 2]!, '/v1/health', '', 'GET')));
  const cpu0 = { servers: servers.reduce((a, x) => a + cpuSeconds(x.child.pid!), 0), pg: postgresCpuSeconds(), client: process.cpuUsage() };
  const t0 = performance.now();
  await Promise.all(enclaves.map(async (e, i) => {
    const enf = e.enforcer!;
    for (let k = 0; k < TOPUPS; k++) {
      if (RATE) {
        const due = t0 + ((k * CLIENTS + i) * 1000) / RATE;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const now = Math.floor(Date.now() / 1000);
      const left = enf.status().remaining;
      if (left > 0) enf.admit(left, now);
      const report = enf.usageReport(now);
      const s = performance.now();
      const res = await post(urls[(i + k) % 2]!, '/v1/usage', JSON.stringify({ report }));
      const body = JSON.parse(res.body) as { grant?: string; granted?: number };
      latencies.push(performance.now() - s);
      if (res.status >= 500) { fivexx++; continue; }
      if (res.status !== 200) { refused++; continue; }
      enf.applyGrant(body.grant!);
      received += body.granted!;
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  const cpuMs = {
    servers: (servers.reduce((a, x) => a + cpuSeconds(x.child.pid!), 0) - cpu0.servers) * 1000 / latencies.length,
    pg: (postgresCpuSeconds() - cpu0.pg) * 1000 / latencies.length,
    client: (() => { const u = process.cpuUsage(cpu0.client); return (u.user + u.system) / 1000 / latencies.length; })(),
  };

  const store = new LicenseStore(await openPgDb(db, { max: 2 }));
  const ledger = await store.ledgerTotal(licenseId);
  const allocated = (await store.getLicense(licenseId))!.creditsAllocated;
  await store.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  // Paced: the rate reached counts as the offered one within 1 % (the last request's answer ends the clock).
  const rps = latencies.length / seconds;
  console.log(`license-load: ${CLIENTS} clients × ${TOPUPS} top-ups, 2 server processes, PostgreSQL, ${RATE ? `paced at ${RATE} requests/s` : 'closed loop'}`);
  console.log(`  requests ${latencies.length}  in ${seconds.toFixed(2)} s  →  ${rps.toFixed(0)} requests/s`);
  console.log(`  latency ms: p50 ${q(0.5).toFixed(1)}  p90 ${q(0.9).toFixed(1)}  p99 ${q(0.99).toFixed(1)}  max ${latencies[latencies.length - 1]!.toFixed(1)}`);
  console.log(`  credits: license ${credits}, received by clients ${received}, ledger (sum of grants) ${ledger}, allocated ${allocated}`);
  console.log(`  5xx ${fivexx}, refused ${refused}`);
  const total = cpuMs.servers + cpuMs.pg + cpuMs.client;
  console.log(`  CPU per top-up: servers ${cpuMs.servers.toFixed(2)} ms, PostgreSQL ${cpuMs.pg.toFixed(2)} ms, load generator ${cpuMs.client.toFixed(2)} ms`);
  console.log(`  machine: ${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}; CPU-bound ceiling ≈ ${(cpus().length * 1000 / total).toFixed(0)} requests/s on an idle machine (all three on it)`);
  const ok = received === ledger && ledger === allocated && allocated === credits && fivexx === 0 && refused === 0;
  console.log(`  ${ok ? 'OK' : 'FAIL'}: credits granted ${received === ledger ? '=' : '≠'} ledger, zero 5xx ${fivexx === 0 ? 'yes' : 'NO'}; target p99 ≤ 50 ms at ≥ 500 req/s: ${q(0.99) <= 50 && rps >= (RATE ? 0.99 * Math.max(RATE, 500) : 500) ? 'met' : 'NOT met'}`);
  process.exitCode = ok ? 0 : 1;
} finally {
  agent.destroy();
  for (const s of servers) s.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  rmSync(dir, { recursive: true, force: true });
}
