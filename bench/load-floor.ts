// The floor under the prewarmed wait (issue 14, item 3; a benchmark, not a test): for each split
// of a model, what is left to wait for once an enclave is booted ahead — attest, provision, LOAD —
// beside the two parts of LOAD no enclave can skip, each measured alone in this process: opening
// the sealed tail (AES-256-GCM over every chunk, docs/bundle-format.md §5.5) and creating the
// engine's session from the tail's bytes (onnxruntime-node, the enclave's session options).
//   npx tsx bench/load-floor.ts [model.onnx] [--splits 1,5,8] [--runs 7]
// Default model: out/examples/mnist/model.onnx (build it with examples/mnist/build.ts --quick).
// Medians of --runs; run it on a quiet machine.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { bundleOfSplit } from '../src/bundle/create.ts';
import { readBundle } from '../src/bundle/read.ts';
import { openSealedTail } from '../src/bundle/tail.ts';
import { prewarmedReadyMs } from '../src/bench/enclave-adapter.ts';
import { getEngine } from '../src/enclave/engines/index.ts';
import { chooseIntraOpThreads } from '../src/enclave/engines/threads.ts';
import { loadModel } from '../src/load.ts';
import { GraphView } from '../src/onnx/graph.ts';
import { inspectModel } from '../src/split/inspect.ts';
import { splitModel } from '../src/split/extract.ts';
import { useTempEnclaveHome } from '../src/runtime/support.testkit.ts';
import { middleValue } from '../src/report/stats.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { splits: { type: 'string', default: '1,5,8' }, runs: { type: 'string', default: '7' } } });
const path = positionals[0] ?? 'out/examples/mnist/model.onnx';
const RUNS = Number(values.runs);
useTempEnclaveHome();
const model = await loadModel(path);
const view = new GraphView(model);
await view.inferTypes();
const layers = inspectModel(view).layers;
const load0 = loadavg();
console.log(`load-floor: ${path}, medians of ${RUNS}`);
console.log('| k | sealed tail | open (AES-GCM) | engine session | open + session | prewarmed wait (attest → ready) |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const k of values.splits.split(',').map(Number)) {
  const split = await splitModel(model, { privateLayers: k });
  const { bytes, providerKey } = bundleOfSplit(split);
  const bundle = readBundle(bytes);
  const sealed = bundle.sealedTail.chunks.reduce((a, c) => a + c.byteLength, 0);
  const threads = chooseIntraOpThreads({ flops: layers.slice(layers.length - k).reduce((a, r) => a + r.flops, 0) });
  const open: number[] = [], session: number[] = [], warm: number[] = [];
  for (let r = 0; r <= RUNS; r++) {
    const t0 = performance.now();
    const tail = openSealedTail(bundle, providerKey.modelKey);
    const t1 = performance.now();
    const s = await getEngine('ort').create(tail, { intraOpThreads: threads });
    const t2 = performance.now();
    await s.release();
    const w = await prewarmedReadyMs(bundle, providerKey, { engine: 'ort', ortThreads: threads });
    if (r === 0) continue; // warm-up
    open.push(t1 - t0); session.push(t2 - t1); warm.push(w);
  }
  const f = (ms: number) => `${ms.toFixed(1)} ms`;
  console.log(`| ${k} | ${(sealed / 2 ** 20).toFixed(2)} MiB | ${f(middleValue(open))} | ${f(middleValue(session))} | ${f(middleValue(open) + middleValue(session))} | ${f(middleValue(warm))} |`);
}
console.log(`load average ${load0.map((x) => x.toFixed(2)).join(' ')} at the start, ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end`);
