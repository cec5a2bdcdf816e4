// The host's FORWARD encoding, general encoder against the prebuilt layout (issue 14, item 1;
// a benchmark, not a test): time to build one frame (and, separately, to write it to a pipe is
// not included), medians of alternating blocks after warm-up, for cut tensors of MNIST-CNN sizes.
//   npx tsx bench/forward-encode.ts [--calls 20000] [--blocks 7]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { TensorData } from '../src/onnx/ort.ts';
import { ForwardFrameEncoder } from '../src/enclave-protocol/forward-frame.ts';
import { encodeFrame, MSG } from '../src/enclave-protocol/frame.ts';
import { encodeForward } from '../src/enclave-protocol/messages.ts';
import { middleValue } from '../src/report/stats.ts';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '20000' }, blocks: { type: 'string', default: '7' } } });
const CALLS = Number(values.calls);
const BLOCKS = Number(values.blocks);
const f32 = (name: string, dims: number[]): Record<string, TensorData> => ({ [name]: { dtype: 'float32', dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)).map((_, i) => i / 7) } });
const cases: [string, Record<string, TensorData>][] = [
  ['dense_1 input [1,128]', f32('dense/Relu:0', [1, 128])],
  ['flatten input [1,12,12,64]', f32('max_pooling2d/MaxPool:0', [1, 12, 12, 64])],
  ['conv2d_1 input [1,26,26,32]', f32('conv2d/Relu:0', [1, 26, 26, 32])],
];
let sink = 0;
const load0 = loadavg();
for (const [what, feeds] of cases) {
  const enc = ForwardFrameEncoder.for(feeds);
  const general = (): number => { let n = 0; for (let i = 0; i < CALLS; i++) for (const p of encodeFrame(MSG.FORWARD, i, encodeForward(feeds))) n += p.byteLength; return n; };
  const fast = (): number => { let n = 0; for (let i = 0; i < CALLS; i++) for (const p of enc.encode(feeds, i)!) n += p.byteLength; return n; };
  const tg: number[] = [];
  const tf: number[] = [];
  const time = (f: () => number, out: number[] | null) => { const t0 = performance.now(); sink += f(); if (out) out.push(((performance.now() - t0) * 1e6) / CALLS); };
  time(general, null); time(fast, null);
  for (let b = 0; b < BLOCKS; b++) { if (b % 2) { time(general, tg); time(fast, tf); } else { time(fast, tf); time(general, tg); } }
  console.log(`${what}: general ${middleValue(tg).toFixed(0)} ns, prebuilt ${middleValue(tf).toFixed(0)} ns per frame (ratio ${(middleValue(tf) / middleValue(tg)).toFixed(2)})`);
}
console.log(`${CALLS} frames × ${BLOCKS} blocks each, alternating; load average ${load0.map((x) => x.toFixed(2)).join(' ')} → ${loadavg().map((x) => x.toFixed(2)).join(' ')}${sink < 0 ? '' : ''}`);
