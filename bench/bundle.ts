// Bundle and STREAM AEAD throughput: medians after warm-up (not a test).
//   npx tsx bench/bundle.ts [tailMiB=16]
import { openStream, randomBytes, sealStream } from '../src/crypto/index.ts';
import { createBundle, openSealedTail, readBundle } from '../src/bundle/index.ts';

const mib = Number(process.argv[2] ?? 16);
const tail = randomBytes(Math.floor(mib * (1 << 20)) - 64);
const spec = [{ name: 'x', dtype: 'float32' as const, shape: [1] }];

function median(f: () => void, runs = 7): number {
  f(); f(); // warm-up
  const t: number[] = [];
  for (let i = 0; i < runs; i++) { const s = process.hrtime.bigint(); f(); t.push(Number(process.hrtime.bigint() - s) / 1e6); }
  return t.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}
const rate = (ms: number) => `${ms.toFixed(1)} ms (${(tail.byteLength / (1 << 20) / (ms / 1000)).toFixed(0)} MiB/s)`;

const key = randomBytes(32);
const sealed = sealStream(key, tail);
console.log(`tail ${mib} MiB, 64 KiB chunks`);
console.log(`sealStream      ${rate(median(() => sealStream(key, tail)))}`);
console.log(`openStream      ${rate(median(() => openStream(key, sealed.noncePrefix, sealed.chunks)))}`);
const { bytes, providerKey } = createBundle({ head: randomBytes(1000), tail, inputs: spec, outputs: spec, headInputs: spec });
console.log(`createBundle    ${rate(median(() => createBundle({ head: randomBytes(1000), tail, inputs: spec, outputs: spec, headInputs: spec })))}`);
console.log(`readBundle      ${median(() => readBundle(bytes)).toFixed(2)} ms (signature + head hash; tail untouched)`);
const b = readBundle(bytes);
console.log(`openSealedTail  ${rate(median(() => openSealedTail(b, providerKey.modelKey)))}`);
