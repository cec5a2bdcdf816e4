// onnxruntime intra-op threads: where does a second thread start to pay (issue 14, item 1; a
// benchmark, not a test)? Synthetic tails of growing work, two families — a Gemm chain (dense
// tails) and a 3×3 Conv chain (convolutional tails) — each run with 1 thread and with one per
// core, on the engine the enclave uses (src/enclave/engines/ort-engine.ts, its session options),
// alternating blocks of back-to-back calls after warm-up; medians and the ratio per size.
//   npx tsx bench/ort-threads.ts [--calls 200] [--blocks 5] [--write]
// --write writes docs/results/ort-threads.md. The crossover printed is the smallest FLOPs per
// call from which one thread per core is faster at every larger size of both families; the
// constant ORT_THREADS_CROSSOVER_FLOPS (src/enclave/engines/threads.ts) should follow it.
// Run it on a quiet machine (nothing else on the cores: the second thread needs a free core).
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { attr, makeModel, node, tensor } from '../src/onnx/build.ts';
import { encodeModel } from '../src/onnx/codec.ts';
import type { TensorData } from '../src/onnx/ort.ts';
import { randomFloats, seededRandom } from '../src/onnx/models.testkit.ts';
import { getEngine } from '../src/enclave/engines/index.ts';
import { ORT_THREADS_CROSSOVER_FLOPS } from '../src/enclave/engines/threads.ts';
import { middleValue } from '../src/report/stats.ts';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '200' }, blocks: { type: 'string', default: '5' }, write: { type: 'boolean' } } });
const CALLS = Number(values.calls);
const BLOCKS = Number(values.blocks);
const CORES = availableParallelism();

interface Case { family: string; size: string; flops: number; bytes: Uint8Array; feeds: Record<string, TensorData> }

/** Two Gemm layers w → w → w (relu between): 4·w² FLOPs per sample. */
function denseCase(w: number): Case {
  const r = seededRandom(w);
  const model = makeModel({
    name: `dense${w}`,
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, w] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [1, w] }],
    nodes: [node('Gemm', ['x', 'W1', 'B1'], ['h'], {}, 'g1'), node('Relu', ['h'], ['a'], {}, 'r1'), node('Gemm', ['a', 'W2', 'B2'], ['y'], {}, 'g2')],
    initializers: [tensor('W1', 'float32', [w, w], randomFloats(w * w, r, 0.05)), tensor('B1', 'float32', [w], randomFloats(w, r, 0.01)),
      tensor('W2', 'float32', [w, w], randomFloats(w * w, r, 0.05)), tensor('B2', 'float32', [w], randomFloats(w, r, 0.01))],
  });
  return { family: 'dense', size: `${w}→${w}→${w}`, flops: 4 * w * w, bytes: encodeModel(model), feeds: { x: { dtype: 'float32', dims: [1, w], data: randomFloats(w, r) } } };
}

/** Two 3×3 Convs c → c on h×h ('same' padding, relu between): 2 · 2·c²·9·h² FLOPs per sample. */
function convCase(c: number, h: number): Case {
  const r = seededRandom(c * 1000 + h);
  const pads = { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) };
  const model = makeModel({
    name: `conv${c}x${h}`,
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, c, h, h] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [1, c, h, h] }],
    nodes: [node('Conv', ['x', 'K1', 'C1'], ['h1'], pads, 'c1'), node('Relu', ['h1'], ['a'], {}, 'r1'), node('Conv', ['a', 'K2', 'C2'], ['y'], pads, 'c2')],
    initializers: [tensor('K1', 'float32', [c, c, 3, 3], randomFloats(c * c * 9, r, 0.1)), tensor('C1', 'float32', [c], randomFloats(c, r, 0.01)),
      tensor('K2', 'float32', [c, c, 3, 3], randomFloats(c * c * 9, r, 0.1)), tensor('C2', 'float32', [c], randomFloats(c, r, 0.01))],
  });
  return { family: 'conv', size: `${c}ch ${h}×${h}`, flops: 2 * 2 * c * c * 9 * h * h, bytes: encodeModel(model), feeds: { x: { dtype: 'float32', dims: [1, c, h, h], data: randomFloats(c * h * h, r) } } };
}


/** Medians (ms per call) with 1 thread and with CORES threads, blocks alternating which goes first. */
async function measure(c: Case): Promise<{ one: number; all: number }> {
  const engine = getEngine('ort');
  const s1 = await engine.create(c.bytes, { intraOpThreads: 1 });
  const sN = await engine.create(c.bytes, { intraOpThreads: CORES });
  const t1: number[] = [];
  const tN: number[] = [];
  const block = async (s: typeof s1, out: number[] | null) => {
    for (let i = 0; i < CALLS; i++) {
      const t0 = performance.now();
      await s.run(c.feeds);
      if (out) out.push(performance.now() - t0);
    }
  };
  try {
    await block(s1, null); await block(sN, null); // warm-up
    for (let b = 0; b < BLOCKS; b++) {
      if (b % 2 === 0) { await block(s1, t1); await block(sN, tN); } else { await block(sN, tN); await block(s1, t1); }
    }
    return { one: middleValue(t1), all: middleValue(tN) };
  } finally {
    await s1.release();
    await sN.release();
  }
}

const cases = [
  ...[16, 32, 64, 128, 256, 512, 1024, 2048].map(denseCase),
  ...[[8, 4], [8, 8], [16, 8], [16, 16], [32, 16], [32, 32], [64, 32], [64, 64]].map(([c, h]) => convCase(c!, h!)),
];
const loadStart = loadavg();
const rows: { c: Case; one: number; all: number }[] = [];
for (const c of cases) rows.push({ c, ...(await measure(c)) });
const loadEnd = loadavg();

// The crossover: the smallest FLOPs from which CORES threads win at every larger size, over both families.
const sorted = [...rows].sort((a, b) => a.c.flops - b.c.flops);
let crossover = Infinity;
for (let i = sorted.length - 1; i >= 0; i--) {
  if (sorted[i]!.all < sorted[i]!.one) crossover = sorted[i]!.c.flops;
  else break;
}
const fmtMs = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);
const fmtFlops = (f: number) => (f >= 1e6 ? `${(f / 1e6).toFixed(f >= 1e7 ? 0 : 1)} M` : `${(f / 1e3).toFixed(0)} k`);
const table = [
  `| family | size | FLOPs per call | 1 thread | ${CORES} threads | ${CORES} / 1 |`,
  '| --- | --- | --- | --- | --- | --- |',
  ...sorted.map(({ c, one, all }) => `| ${c.family} | ${c.size} | ${fmtFlops(c.flops)} | ${fmtMs(one)} | ${fmtMs(all)} | ${(all / one).toFixed(2)} |`),
].join('\n');
const verdict = Number.isFinite(crossover)
  ? `${CORES} threads win from ${fmtFlops(crossover)} FLOPs per call at every larger size (ORT_THREADS_CROSSOVER_FLOPS is ${fmtFlops(ORT_THREADS_CROSSOVER_FLOPS)})`
  : `${CORES} threads never win at the largest sizes measured (ORT_THREADS_CROSSOVER_FLOPS is ${fmtFlops(ORT_THREADS_CROSSOVER_FLOPS)})`;
const load = `load average ${loadStart.map((x) => x.toFixed(2)).join(' ')} at the start, ${loadEnd.map((x) => x.toFixed(2)).join(' ')} at the end`;
console.log(table);
console.log(`\n${verdict}; ${CALLS} calls × ${BLOCKS} blocks each, alternating; ${load}`);
if (values.write) {
  writeFileSync(new URL('../docs/results/ort-threads.md', import.meta.url), `# onnxruntime intra-op threads: the crossover (issue 14, item 1)

Command: \`npx tsx bench/ort-threads.ts --write\` (${new Date().toISOString().slice(0, 16)}Z). Machine: ${cpus()[0]?.model ?? 'unknown'} × ${CORES}, Node ${process.version}; ${load}.
Each tail runs on the enclave's ort engine (its session options, spinning off) with 1 intra-op thread and
with ${CORES}; ${CALLS} back-to-back calls per block, ${BLOCKS} blocks each, alternating which goes first, after one
warm-up block each; medians. Batch 1.

${table}

**${verdict}.** \`chooseIntraOpThreads\` (src/enclave/engines/threads.ts) gives a tail 1 thread below the
crossover and ${CORES} from it on; \`bench\` uses the same choice for the enclave and both in-process
baselines, and \`--ort-threads\` overrides it.
`);
}
