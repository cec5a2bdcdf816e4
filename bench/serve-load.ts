/**
 * Load benchmark of `enclave-nn serve` (issue 17): requests/s and p50/p99 latency for 1, 8 and 32
 * concurrent closed-loop clients (each sends its next request when the last one is answered),
 * with batching (--max-batch 32 --max-wait-ms 2) and without (--max-batch 1), beside the same
 * clients calling `Session.run` directly in-process. Not a test: run it by hand, on a quiet machine.
 *
 *   npx tsx bench/serve-load.ts [--model cnn|mlp] [--requests 300] [--clients 1,8,32] [--binary] [--out results.json]
 *
 * The server runs as its own process (the real CLI, sim platform, INSECURE development key) so
 * the clients' HTTP work does not share its event loop; clients use keep-alive connections. Every
 * request carries one sample. The first answer of each configuration is checked against the
 * unsplit model on onnxruntime (max abs diff ≤ 1e-5).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeProviderKeyFile } from '../src/bundle/provider-key.ts';
import { encodeModel } from '../src/onnx/codec.ts';
import { maxAbsDiff, randomFeeds, runOnnx, type TensorData } from '../src/onnx/ort.ts';
import { cnnModel, mlpModel, seededRandom } from '../src/onnx/models.testkit.ts';
import { Session } from '../src/runtime/session.ts';
import { bundleOfSplit, everySplit } from '../src/runtime/support.testkit.ts';

const { values } = parseArgs({ options: { model: { type: 'string' }, requests: { type: 'string' }, clients: { type: 'string' }, binary: { type: 'boolean' }, out: { type: 'string' } } });
const REQUESTS = Number(values.requests ?? 300);
const CLIENTS = (values.clients ?? '1,8,32').split(',').map(Number);
const model = values.model === 'mlp' ? mlpModel() : cnnModel();

const dir = mkdtempSync(join(tmpdir(), 'enn-serve-load-'));
const home = join(dir, 'home');
process.env.ENCLAVE_NN_HOME = home;
const { view, splits } = await everySplit(model);
const split = splits[Math.min(1, splits.length - 1)]!;
const { bytes, providerKey } = bundleOfSplit(split, { chunkSize: 64 * 1024 });
const bundlePath = join(dir, 'model.enn');
const keyPath = join(dir, 'model.enn.key');
writeFileSync(bundlePath, bytes);
writeFileSync(keyPath, encodeProviderKeyFile(providerKey), { mode: 0o600 });
writeFileSync(join(dir, 'model.onnx'), encodeModel(model));
const input = view.inputs[0]!;
const feeds = randomFeeds(view.inputs, 1, seededRandom(1));
const x = feeds[input.name]!;
const want = Object.values(await runOnnx(model, feeds))[0]!;
const outName = view.outputs[0]!.name;

const jsonBody = Buffer.from(JSON.stringify({ inputs: [{ name: input.name, datatype: 'FP32', shape: x.dims, data: Array.from(x.data as Float32Array) }] }));
const binHeader = Buffer.from(JSON.stringify({ inputs: [{ name: input.name, datatype: 'FP32', shape: x.dims, parameters: { binary_data_size: x.data.byteLength } }], parameters: { binary_data_output: true } }));
const binBody = Buffer.concat([binHeader, Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength)]);

interface Row { mode: string; clients: number; requests: number; rps: number; p50Ms: number; p99Ms: number; maxDiff: number }
const rows: Row[] = [];

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** `clients` closed-loop clients share `total` calls of `one`; resolves to wall time and latencies. */
async function load(clients: number, total: number, one: () => Promise<void>): Promise<{ wallMs: number; lat: number[] }> {
  const lat: number[] = [];
  let left = total;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (left > 0) {
      left--;
      const t = performance.now();
      await one();
      lat.push(performance.now() - t);
    }
  }));
  return { wallMs: performance.now() - t0, lat: lat.sort((a, b) => a - b) };
}

function record(mode: string, clients: number, r: { wallMs: number; lat: number[] }, maxDiff: number): void {
  const row = { mode, clients, requests: r.lat.length, rps: r.lat.length / (r.wallMs / 1000), p50Ms: pct(r.lat, 50), p99Ms: pct(r.lat, 99), maxDiff };
  rows.push(row);
  console.log(`${mode.padEnd(30)} clients ${String(clients).padStart(2)}  ${row.rps.toFixed(0).padStart(6)} req/s  p50 ${row.p50Ms.toFixed(2)} ms  p99 ${row.p99Ms.toFixed(2)} ms  (max abs diff ${maxDiff.toExponential(1)})`);
}

// --- Session directly, in-process: the floor the server adds to.
{
  const session = await Session.create({ bundle: bytes, keySource: { kind: 'insecure-dev-key', providerKey }, enclave: { onStderr: () => undefined } });
  const d = maxAbsDiff((await session.run(feeds))[outName]!, want);
  for (const c of CLIENTS) {
    await load(c, Math.min(50, REQUESTS), async () => { await session.run(feeds); });
    record('session.run (direct)', c, await load(c, REQUESTS, async () => { await session.run(feeds); }), d);
  }
  await session.close();
}

// --- The server, batching on and off.
function startServer(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['bin/enclave-nn.js', 'serve', bundlePath, '--insecure-dev-key', keyPath, '--port', '0', ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ENCLAVE_NN_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => { out += c.toString(); const m = /on (http:\/\/\S+?)\/v2\/models/.exec(out); if (m) resolve({ child, url: m[1]! }); });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
}

function post(agent: http.Agent, url: string, body: Buffer, binary: boolean): Promise<{ body: Buffer; headerLength: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/v2/models/model/infer`, {
      method: 'POST', agent,
      headers: { 'content-type': binary ? 'application/octet-stream' : 'application/json', 'content-length': body.byteLength, ...(binary ? { 'inference-header-content-length': binHeader.byteLength } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve({ body: Buffer.concat(chunks), headerLength: Number(res.headers['inference-header-content-length'] ?? -1) }) : reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString()}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function decode({ body: b, headerLength }: { body: Buffer; headerLength: number }, binary: boolean): TensorData {
  if (!binary) {
    const o = (JSON.parse(b.toString()) as { outputs: { shape: number[]; data: number[] }[] }).outputs[0]!;
    return { dtype: 'float32', dims: o.shape, data: Float32Array.from(o.data) };
  }
  const j = JSON.parse(b.subarray(0, headerLength).toString()) as { outputs: { shape: number[] }[] };
  const raw = new Uint8Array(b.subarray(headerLength));
  return { dtype: 'float32', dims: j.outputs[0]!.shape, data: new Float32Array(raw.slice().buffer) };
}

const binary = values.binary === true;
for (const [mode, args] of [['serve, batching (32, 2 ms)', ['--max-batch', '32', '--max-wait-ms', '2']], ['serve, no batching', ['--max-batch', '1']]] as const) {
  const { child, url } = await startServer([...args]);
  try {
    for (const c of CLIENTS) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: c });
      const body = binary ? binBody : jsonBody;
      const d = maxAbsDiff(decode(await post(agent, url, body, binary), binary), want);
      await load(c, Math.min(50, REQUESTS), async () => { await post(agent, url, body, binary); });
      record(`${mode}${binary ? ' (binary)' : ''}`, c, await load(c, REQUESTS, async () => { await post(agent, url, body, binary); }), d);
      agent.destroy();
    }
  } finally {
    child.kill('SIGTERM');
  }
}

const load1 = loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`model ${model.graph!.name} (split at k=${split.cut.privateLayers}), ${cpus().length} cores, load average ${load1}`);
if (values.out) writeFileSync(values.out, JSON.stringify({ model: model.graph!.name, privateLayers: split.cut.privateLayers, binary, requests: REQUESTS, cores: cpus().length, loadavg: loadavg(), rows }, null, 2) + '\n');
