// Enclave boundary cost and setup time (a benchmark, not a test): medians after warm-up.
//   npx tsx bench/enclave-boundary.ts [--forwards 2000] [--starts 15] [--write]
// Model: an MNIST-size MLP, x[N,784] → stem 784→784 (public head) → dense1 784→128 relu →
// dense2 128→10 softmax (the private tail). Boundary = host round trip − enclave-side compute.
// --write also writes docs/results/enclave.md.
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { bundleOfSplit } from '../src/bundle/create.ts';
import { readBundle } from '../src/bundle/read.ts';
import { EnclaveProcess } from '../src/enclave/host.ts';
import { trustedProgramPath } from '../src/enclave/trusted-program.ts';
import { attr, makeModel, node, tensor } from '../src/onnx/build.ts';
import type { TensorData } from '../src/onnx/ort.ts';
import { randomFloats, seededRandom } from '../src/onnx/models.testkit.ts';
import { insecureDevKeyProvider } from '../src/runtime/insecure-dev-key.ts';
import { splitModel } from '../src/split/extract.ts';
import { middleValue } from '../src/report/stats.ts';

const { values } = parseArgs({ options: { forwards: { type: 'string', default: '2000' }, starts: { type: 'string', default: '15' }, write: { type: 'boolean' } } });
const FORWARDS = Number(values.forwards);
const STARTS = Number(values.starts);

function mnistMlp() {
  const r = seededRandom(7);
  const dense = (name: string, x: string, y: string, i: number, o: number, act: 'Relu' | 'Softmax') => ({
    nodes: [node('Gemm', [x, `${name}/W`, `${name}/B`], [`${name}/pre`], {}, `${name}/Gemm`),
      node(act, [`${name}/pre`], [y], act === 'Softmax' ? { axis: attr.int(-1) } : {}, `${name}/${act}`)],
    inits: [tensor(`${name}/W`, 'float32', [i, o], randomFloats(i * o, r, 0.05)), tensor(`${name}/B`, 'float32', [o], randomFloats(o, r, 0.01))],
  });
  const layers = [dense('stem', 'x', 'h0', 784, 784, 'Relu'), dense('dense1', 'h0', 'h1', 784, 128, 'Relu'), dense('dense2', 'h1', 'y', 128, 10, 'Softmax')];
  return makeModel({
    name: 'mnist_mlp', inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 784] }], outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 10] }],
    nodes: layers.flatMap((l) => l.nodes), initializers: layers.flatMap((l) => l.inits),
  });
}

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * p))]!; };
const quiet = { onStderr: () => undefined };

const split = await splitModel(mnistMlp(), { privateLayers: 2 });
const { bytes, providerKey } = bundleOfSplit(split);
const bundle = readBundle(bytes);
const keys = insecureDevKeyProvider(providerKey);
const tailSize = bundle.sealedTail.chunks.reduce((a, c) => a + c.byteLength, 0);
await trustedProgramPath(); // build once, outside the timings

/** One start, phase by phase (ms from spawn). */
async function start(engine: string, options: { ortThreads?: number } = {}) {
  const t0 = performance.now();
  const e = await EnclaveProcess.start({ engine, ...quiet, ...options });
  const hello = performance.now() - t0;
  await keys.provision(e, bundle);
  const provisioned = performance.now() - t0;
  const { decryptedAt } = await e.load(bundle.headerBytes, bundle.signature, bundle.sealedTail.chunks);
  const ready = performance.now() - t0;
  const inside = (await e.status()).startupMs as { codeStart: number; ready: number };
  return { e, phases: { spawn: e.timings.spawnMs, codeStart: inside.codeStart, hello, provisioned, decrypted: Math.max(decryptedAt - t0, provisioned), ready } };
}

/** The floor: a bare Node process, spawn → exit (what every enclave start pays first). */
async function bareNode(): Promise<number> {
  const { spawn } = await import('node:child_process');
  const t0 = performance.now();
  await new Promise<void>((r) => spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' }).on('exit', () => r()));
  return performance.now() - t0;
}
const bare: number[] = [];
for (let i = 0; i < STARTS + 2; i++) { const t = await bareNode(); if (i >= 2) bare.push(t); }

const setup: Record<string, Record<string, number>> = {};
for (const engine of ['ort', 'wasm']) {
  const runs: Record<string, number>[] = [];
  for (let i = 0; i < STARTS + 2; i++) {
    const { e, phases } = await start(engine);
    await e.close();
    if (i >= 2) runs.push(phases); // two warm-up starts (page cache, JIT of the host)
  }
  setup[engine] = Object.fromEntries(Object.keys(runs[0]!).map((k) => [k, middleValue(runs.map((r) => r[k]!))]));
}

interface Boundary { config: string; polled: string; batch: number; bytesIn: number; bytesOut: number; boundaryUs: number; p90Us: number; roundTripUs: number; computeUs: number }
const boundary: Boundary[] = [];
// The two ways a session runs this tail: one intra-op thread, the host polling for the answer
// (what bench, run and serve choose for a tail this small: its FLOPs are far below the
// crossover, docs/results/ort-threads.md), and onnxruntime's own threads without polling.
const CONFIGS = [
  { config: '1 thread, host polls ≤ 1 ms', options: { ortThreads: 1 } },
  { config: "onnxruntime's threads, no polling", options: {} },
];
for (const { config, options } of CONFIGS) {
const { e } = await start('ort', options);
try {
  for (const batch of [1, 8]) {
    const r = seededRandom(batch);
    const feeds: Record<string, TensorData> = { h0: { dtype: 'float32', dims: [batch, 784], data: randomFloats(batch * 784, r, 1) } };
    for (let i = 0; i < 300; i++) await e.forward(feeds); // warm-up
    const b: number[] = []; const rt: number[] = []; const c: number[] = [];
    let bytesOut = 0;
    const polls0 = { ...e.polls };
    for (let i = 0; i < FORWARDS; i++) {
      const x = await e.forward(feeds);
      const roundTrip = Number(x.roundTripNs) / 1e3;
      const compute = Number(x.computeNs) / 1e3;
      b.push(roundTrip - compute); rt.push(roundTrip); c.push(compute);
      bytesOut = x.outputs.y!.data.byteLength;
    }
    boundary.push({ config, polled: `${e.polls.answered - polls0.answered} / ${FORWARDS}`, batch, bytesIn: batch * 784 * 4, bytesOut, boundaryUs: middleValue(b), p90Us: pct(b, 0.9), roundTripUs: middleValue(rt), computeUs: middleValue(c) });
  }
} finally {
  await e.close();
}
}

/** The floor: the same bytes echoed between two bare Node processes over pipes (µs, median). */
async function rawEcho(size: number): Promise<number> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['-e', 'process.stdin.on("data", (d) => process.stdout.write(d))'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const msg = Buffer.alloc(size, 1);
  let got = 0;
  let done: () => void = () => undefined;
  child.stdout.on('data', (d: Buffer) => { got += d.length; if (got >= size) { got = 0; done(); } });
  const t: number[] = [];
  for (let i = 0; i < FORWARDS + 300; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise<void>((r) => { done = r; child.stdin.write(msg); });
    if (i >= 300) t.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  child.kill();
  return middleValue(t);
}
const echo = await rawEcho(boundary[0]!.bytesIn + 40);

const f = (x: number, d = 1) => x.toFixed(d);
const env = `${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end`;
const md = `# Enclave boundary and setup (sim platform)

Measured by \`npx tsx bench/enclave-boundary.ts${values.write ? ' --write' : ''}\` (forwards ${FORWARDS} per batch after 300
warm-up; ${STARTS} starts per engine after 2 warm-up starts; medians). ${env}. The machine is
shared with other jobs: treat single numbers as indicative, rerun to compare.

Model: MNIST-size MLP, x[N,784] → stem 784→784 (public head) → dense1 784→128 relu → dense2
128→10 softmax (the private tail, ${(tailSize / 1024).toFixed(0)} KiB sealed). Cut tensor h0 = 784 float32 per sample.

## Boundary cost per inference (ort engine)

Boundary = host round trip (encode, pipe, decode on both sides, enclave bookkeeping) minus the
enclave-side compute time the enclave reports. Target: ≤ 40 µs + copy time.

| configuration | batch | bytes in / out | boundary median | boundary p90 | round trip | enclave compute | answers read by polling |
| --- | --- | --- | --- | --- | --- | --- | --- |
${boundary.map((b) => `| ${b.config} | ${b.batch} | ${b.bytesIn} / ${b.bytesOut} | ${f(b.boundaryUs)} µs | ${f(b.p90Us)} µs | ${f(b.roundTripUs)} µs | ${f(b.computeUs)} µs | ${b.polled} |`).join('\n')}

## Spawn → ready

Phases in ms from \`spawn()\` (cumulative): process exists; the trusted program's first line runs
(the enclave's own clock: Node's boot); HELLO answered (trusted program loaded, platform
measured); provisioned (ATTEST with a sim DCAP quote, dev-key wrap,
PROVISION); tail decrypted; ready (last chunk + engine session created). Target: ≤ 150 ms.

| engine | spawn | code starts | hello | provisioned | decrypted | ready |
| --- | --- | --- | --- | --- | --- | --- |
${Object.entries(setup).map(([k, s]) => `| ${k} | ${f(s.spawn!)} | ${f(s.codeStart!)} | ${f(s.hello!)} | ${f(s.provisioned!)} | ${f(s.decrypted!)} | ${f(s.ready!)} |`).join('\n')}

For reference, a bare \`node -e 0\` (spawn → exit) takes ${f(middleValue(bare))} ms median on this machine at the same time:
Node's own start-up is the floor under "hello".

## Verdict

- Boundary: ${f(boundary[0]!.boundaryUs)} µs median at batch 1 against ≤ 40 µs + copy time (copying ${boundary[0]!.bytesIn + boundary[0]!.bytesOut} bytes
  takes well under 1 µs): ${boundary[0]!.boundaryUs <= 41 ? 'met' : 'not met on this run'}. It is two pipe wake-ups (host → enclave,
  enclave → host) plus the codec on both sides; with the machine's load average
  ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores each wake-up waits for a core. The floor, the same bytes echoed
  between two bare Node processes over pipes at the same time, is ${f(echo)} µs round trip; the
  protocol (framing, codec, checks, request ids, timers) adds ${f(boundary[0]!.boundaryUs - echo)} µs over it.
- Spawn → ready (ort): ${f(setup.ort!.ready!)} ms against ≤ 150 ms: ${setup.ort!.ready! <= 150 ? 'met' : 'not met on this run'}. Of that, Node's own boot
  (until the trusted program's first line runs) is ${f(setup.ort!.codeStart!)} ms; Enclave-NN's part (hello, sim attestation,
  provisioning, decryption, engine load and session) is ${f(setup.ort!.ready! - setup.ort!.codeStart!)} ms.
- Where the boundary goes (a one-off instrumented run of the enclave, 26 Nov 02:05 UTC, load
  average ~12, a 1×32 → 4 tail): from a request's arrival to its answer being encoded the
  enclave spent 62 µs, 42 µs of them in the engine, so decoding, checks and encoding cost ~20 µs
  on this loaded machine; its write() of the answer then returned only 65 µs later, because
  the kernel ran the woken host on the shared core first. The rest of the boundary is those
  two wake-ups, which the raw echo pays too.
- The wasm engine spends its extra start-up time compiling onnxruntime-web's WebAssembly
  module (${f(setup.wasm!.ready! - setup.wasm!.decrypted!)} ms from decrypted to ready); it is the smaller trusted code base, not the fast start.
`;
process.stdout.write(md);
if (values.write) writeFileSync(new URL('../docs/results/enclave.md', import.meta.url), md);
