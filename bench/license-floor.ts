/**
 * The floor under the license server's CPU per top-up (issue 14, item 4; a benchmark, not a
 * test): what the parts a top-up cannot do without cost on their own, each measured alone on
 * this machine, CPU time per operation (user + system, from /proc for other processes):
 *  - HTTP: a bare node:http server (plain Node, keep-alive) that parses a JSON body of a usage
 *    report's size and answers a JSON grant of a grant's size — the server process's CPU;
 *  - crypto: one Ed25519 verify (the report) and one sign (the grant), in-process;
 *  - PostgreSQL: the smallest committed write (`UPDATE … SET n = n + 1` on one row, one
 *    round trip, autocommit), through the store's own driver — the driver's CPU here and the
 *    backend's from /proc; and `SELECT 1`, the round trip alone.
 * Their sum is the least a top-up can cost with this stack; compare it with the measured CPU per
 * top-up (bench/license-load.ts) and the ≤ 0.5 ms target.
 *
 *   scripts/with-postgres.sh npx tsx bench/license-floor.ts [--n 3000]
 *
 * Run it on a quiet machine.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { cpuSeconds, postgresCpuSeconds } from './proc-cpu.ts';
import { generateEd25519KeyPair, randomBytes } from '../src/crypto/index.ts';
import { ed25519Signer, ed25519Verifier } from '../src/crypto/ed25519-keys.ts';
import { openPgDb } from '../src/license/store-pg.ts';

const { values } = parseArgs({ options: { n: { type: 'string', default: '3000' } } });
const N = Number(values.n);
const db = process.env.ENCLAVE_NN_TEST_PG;
if (!db) { console.error('license-floor: needs ENCLAVE_NN_TEST_PG (scripts/with-postgres.sh starts one)'); process.exit(2); }

const selfCpuMs = (since: NodeJS.CpuUsage) => { const u = process.cpuUsage(since); return (u.user + u.system) / 1000; };

// --- HTTP: a bare server in its own process (plain Node, the environment it needs).
const SERVER = `
const http = require('node:http');
const grant = JSON.stringify({ granted: 7, grant: 'x'.repeat(300) });
const s = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => { JSON.parse(Buffer.concat(chunks).toString('utf8')); res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(grant) }); res.end(grant); });
});
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
`;
async function httpFloorMs(): Promise<number> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH ?? '' } });
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (c: Buffer) => resolve(Number(c.toString().trim()))));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const body = JSON.stringify({ report: 'r'.repeat(420) });
  const one = () => new Promise<void>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/usage', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end(body);
  });
  const run = async (n: number) => { let left = n; await Promise.all(Array.from({ length: 8 }, async () => { while (left-- > 0) await one(); })); };
  await run(500); // warm-up
  const c0 = cpuSeconds(child.pid!);
  await run(N);
  const ms = ((cpuSeconds(child.pid!) - c0) * 1000) / N;
  agent.destroy();
  child.kill();
  return ms;
}

// --- crypto: verify a report-sized message, sign a grant-sized one, keys imported once (as the
// server's signers are; importing a seed derives its public key, which costs more than a signature).
function cryptoFloorMs(): { verify: number; sign: number } {
  const { publicKey, privateKey } = generateEd25519KeyPair();
  const signer = ed25519Signer(privateKey);
  const verifier = ed25519Verifier(publicKey);
  const report = randomBytes(300);
  const sig = signer(report);
  const grant = randomBytes(200);
  for (let i = 0; i < 300; i++) { verifier(report, sig); signer(grant); }
  let c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) if (!verifier(report, sig)) throw new Error('verify failed');
  const verify = selfCpuMs(c0) / N;
  c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) signer(grant);
  return { verify, sign: selfCpuMs(c0) / N };
}

// --- PostgreSQL: the smallest committed write, and the bare round trip, through the store's driver.
async function pgFloorMs(): Promise<{ write: { driver: number; backend: number }; select: { driver: number; backend: number } }> {
  const sql = await openPgDb(db!);
  const table = `enn_floor_${process.pid}`;
  await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY, n int8 NOT NULL)`);
  await sql.query(`INSERT INTO ${table} VALUES (1, 0)`);
  const measure = async (text: string, name: string) => {
    for (let i = 0; i < 300; i++) await sql.query(text, [], name);
    const c0 = process.cpuUsage();
    const p0 = postgresCpuSeconds();
    for (let i = 0; i < N; i++) await sql.query(text, [], name);
    return { driver: selfCpuMs(c0) / N, backend: ((postgresCpuSeconds() - p0) * 1000) / N };
  };
  try {
    const write = await measure(`UPDATE ${table} SET n = n + 1 WHERE id = 1`, 'floor_write');
    const select = await measure('SELECT 1', 'floor_select');
    return { write, select };
  } finally {
    await sql.query(`DROP TABLE ${table}`);
    await sql.close();
  }
}

const load0 = loadavg();
const httpMs = await httpFloorMs();
const cryptoMs = cryptoFloorMs();
const pg = await pgFloorMs();
const floor = httpMs + cryptoMs.verify + cryptoMs.sign + pg.write.driver + pg.write.backend;
const f = (ms: number) => `${ms.toFixed(3)} ms`;
console.log(`license-floor: CPU per operation, ${N} each after warm-up`);
console.log(`  HTTP (bare node:http, keep-alive, JSON in and out; server process): ${f(httpMs)}`);
console.log(`  Ed25519 verify (300 B): ${f(cryptoMs.verify)}; sign (200 B): ${f(cryptoMs.sign)}`);
console.log(`  PostgreSQL committed one-row UPDATE: driver ${f(pg.write.driver)} + backend ${f(pg.write.backend)}; SELECT 1: driver ${f(pg.select.driver)} + backend ${f(pg.select.backend)}`);
console.log(`  floor of a top-up (HTTP + verify + sign + one committed write): ${f(floor)} (target ≤ 0.5 ms)`);
console.log(`  load average ${load0.map((x) => x.toFixed(2)).join(' ')} at the start, ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end`);
