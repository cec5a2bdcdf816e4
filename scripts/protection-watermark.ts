/**
 * Measures the answer watermark (docs/watermark.md; issue 16 item 3) on the MNIST CNN: what it
 * costs honest users, and whether `watermark verify`'s verdict finds it in the substitutes the
 * attack harness trains on a watermarked bundle's answers. It must find it under the right key,
 * and not under wrong keys or in an independently trained model.
 *
 *   node --import tsx scripts/protection-watermark.ts --model victim.onnx --independent indep.onnx \
 *     [--private 1,8] [--rate 0.05] [--queries 50,500,5000] [--seeds 1,2,3] [--wrong-keys 3] \
 *     [--null-keys 999] [--mode label|prob] [--min-epochs 10] [--out DIR]
 *
 * Data (MNIST, images float32 in [0, 1]):
 * - calibration (`--watermark-data`, the provider's): the first 2,000 training images;
 * - the attacker's queries: the last 5,000 training images (50,000 on; as
 *   src/attack/example-data.ts writes them for `enclave-nn attack`);
 * - the provider's verification data and the honest users' test set: the 10,000 test images.
 *
 * Per split k (`--private`), the script:
 * 1. seals the watermarked bundle, and the same split without a watermark;
 * 2. measures the honest top-1 accuracy of both through the real enclave (sim platform,
 *    INSECURE dev key);
 * 3. runs the attack library (src/attack/attacker.ts `stealTail`: generic substitute, every Q
 *    and seed, label or probability answers) against the watermarked bundle's enclave, and
 *    judges every substitute on the test images: under the bundle's key, and under
 *    `--wrong-keys` other bundles of the same split (fresh model keys, so fresh watermarks);
 * 4. judges the independent model (`--independent`: the same architecture, trained on another
 *    seed) and the victim itself under the right key, and a substitute trained on the
 *    *unwatermarked* bundle's answers (largest Q, first seed) as a control.
 *
 * The verdict is `judgeWatermark` (src/watermark/verify.ts): M null keys, p = (1 + #{null ≥
 * observed}) / (M + 1), match iff p ≤ 0.001. These are seeded counts, not times: the training is
 * deterministic per seed (TF.js WASM). The bundles' keys are fresh, so the wrong-key and
 * independent verdicts are draws of a valid test, and each is a false match with probability
 * ≤ 0.001. Writes DIR/protection-watermark.json and DIR/protection-watermark.md
 * (default out/protection-watermark).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stealTail } from '../src/attack/attacker.ts';
import { publicQuery } from '../src/attack/evaluate.ts';
import type { AnswerMode, AttackSurface } from '../src/attack/types.ts';
import { bundleOfSplit } from '../src/bundle/create.ts';
import { readBundle } from '../src/bundle/read.ts';
import type { ProviderKey } from '../src/bundle/types.ts';
import { loadMnist } from '../src/datasets/mnist.ts';
import { EnclaveProcess } from '../src/enclave/host.ts';
import { loadModel } from '../src/load.ts';
import { encodeModel } from '../src/onnx/codec.ts';
import { runOnnx, type TensorData } from '../src/onnx/ort.ts';
import { concatRows, sliceRows } from '../src/runtime/rows.ts';
import { Session } from '../src/runtime/session.ts';
import { splitModel } from '../src/split/index.ts';
import { judgeWatermark, markData, type MarkedData, type WatermarkVerdict } from '../src/watermark/index.ts';

const { values } = parseArgs({ options: {
  model: { type: 'string' }, independent: { type: 'string' }, private: { type: 'string' }, rate: { type: 'string' },
  queries: { type: 'string' }, seeds: { type: 'string' }, 'wrong-keys': { type: 'string' }, 'null-keys': { type: 'string' },
  mode: { type: 'string' }, 'min-epochs': { type: 'string' }, out: { type: 'string' },
} });
const fail = (why: string): never => { process.stderr.write(`protection-watermark: ${why}\n`); process.exit(2); };
const ints = (flag: string, v: string): number[] => v.split(',').map((s) => (/^\d+$/.test(s) ? Number(s) : fail(`${flag} must be a list of non-negative integers, got '${v}'`)));
if (!values.model || !values.independent) {
  fail('usage: node --import tsx scripts/protection-watermark.ts --model victim.onnx --independent indep.onnx [--private 1,8] [--rate 0.05] [--queries 50,500,5000] [--seeds 1,2,3] [--wrong-keys 3] [--null-keys 999] [--mode label|prob] [--min-epochs 10] [--out DIR]');
}
const splits = ints('--private', values.private ?? '1,8');
const rate = Number(values.rate ?? '0.05');
const queries = ints('--queries', values.queries ?? '50,500,5000');
const seeds = ints('--seeds', values.seeds ?? '1,2,3');
const wrongKeys = ints('--wrong-keys', values['wrong-keys'] ?? '3')[0]!;
const nullKeys = ints('--null-keys', values['null-keys'] ?? '999')[0]!;
const mode = (values.mode ?? 'label') as AnswerMode;
if (mode !== 'label' && mode !== 'prob') fail(`--mode must be label or prob, got '${values.mode}'`);
const minEpochs = ints('--min-epochs', values['min-epochs'] ?? '10')[0]!;
const out = resolve(values.out ?? 'out/protection-watermark');
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

const images = (s: { images: Float32Array; count: number }, start: number, count: number): TensorData => ({ dtype: 'float32', dims: [count, 28, 28, 1], data: s.images.slice(start * 784, (start + count) * 784) });
const train = loadMnist('train');
const test = loadMnist('test');
const calibrationX = images(train, 0, 2000);
const attackX = images(train, train.count - 5000, 5000);
const testX = images(test, 0, test.count);
const testY = Int32Array.from(test.labels);

const argmaxRows = (t: TensorData): Int32Array => {
  const c = t.dims[1]!;
  const d = t.data as Float32Array;
  return Int32Array.from({ length: t.dims[0]! }, (_, i) => {
    let b = 0;
    for (let j = 1; j < c; j++) if (d[i * c + j]! > d[i * c + b]!) b = j;
    return b;
  });
};
const share = (a: ArrayLike<number>, b: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) if (a[i] === b[i]) s++; return s / a.length; };

/** Top-1 labels of an ONNX model (one input) on the test images, in batches. */
async function labelsOfModel(model: Uint8Array, input: string): Promise<Int32Array> {
  const parts: TensorData[] = [];
  for (let s = 0; s < test.count; s += 500) parts.push(Object.values(await runOnnx(model, sliceRows({ [input]: testX }, s, Math.min(500, test.count - s))))[0]!);
  return argmaxRows(concatRows(parts.map((t) => ({ y: t }))).y!);
}

interface Judged { key: string; verdict: WatermarkVerdict['verdict']; pValue: number; agreeing: number; judged: number; nullMax: number; nullMean: number }
const judged = (key: string, m: MarkedData, suspect: Int32Array): Judged => {
  const v = judgeWatermark({ m, suspect });
  return { key, verdict: v.verdict, pValue: v.pValue, agreeing: v.agreeing, judged: v.judged, nullMax: v.nullMax, nullMean: v.nullMean };
};

const enclave = await EnclaveProcess.start({ onStderr: () => undefined });
const model = await loadModel(values.model!);
const independent = new Uint8Array(readFileSync(values.independent!));
const results: unknown[] = [];
const md: string[] = [];
try {
  for (const k of splits) {
    const split = await splitModel(model, { privateLayers: k });
    const input = split.inputs[0]!.name;
    const cutNames = split.cutTensors.map((t) => t.name);
    const head = split.head ? encodeModel(split.head) : undefined;
    const cutParts: Record<string, TensorData>[] = [];
    for (let s = 0; s < 2000; s += 500) {
      const x = sliceRows({ [input]: calibrationX }, s, 500);
      cutParts.push(head ? await runOnnx(head, x, cutNames) : x);
    }
    const watermark = { rate, calibration: concatRows(cutParts) };
    const sealed = bundleOfSplit(split, { watermark });
    const plain = bundleOfSplit(split, {});
    const wrong = Array.from({ length: wrongKeys }, () => bundleOfSplit(split, { watermark }));
    log(`k=${k}: cut ${split.cutTensors.map((t) => `${t.name} [${t.shape.join(',')}]`).join(', ')}; sealed 2 + ${wrongKeys} watermarked bundles at rate ${rate}`);

    const withSession = async <T>(b: { bytes: Uint8Array; providerKey: ProviderKey }, f: (s: Session) => Promise<T>): Promise<T> => {
      const session = await Session.create({ bundle: b.bytes, keySource: { kind: 'insecure-dev-key', providerKey: b.providerKey }, enclaveProcess: enclave });
      try { return await f(session); } finally { await session.close(); }
    };
    const honest = async (b: typeof sealed) => withSession(b, async (s) => {
      const parts: TensorData[] = [];
      for (let i = 0; i < test.count; i += 500) parts.push(Object.values(await s.run({ [input]: sliceRows({ [input]: testX }, i, Math.min(500, test.count - i))[input]! }))[0]!);
      return argmaxRows(concatRows(parts.map((t) => ({ y: t }))).y!);
    });
    const honestMarked = await honest(sealed);
    const honestPlain = await honest(plain);
    const accMarked = share(honestMarked, testY);
    const accPlain = share(honestPlain, testY);
    log(`k=${k}: honest top-1 ${(100 * accPlain).toFixed(2)} % without, ${(100 * accMarked).toFixed(2)} % with the watermark`);

    const t0 = performance.now();
    const m = await markData(readBundle(sealed.bytes), sealed.providerKey, testX, { nullKeys });
    const mWrong: MarkedData[] = [];
    for (const w of wrong) mWrong.push(await markData(readBundle(w.bytes), w.providerKey, testX, { nullKeys }));
    const markSeconds = (performance.now() - t0) / 1000 / (1 + wrongKeys);
    log(`k=${k}: ${m.marked} of ${test.count} test images marked (${m.own.rows.length} judged per key); ${nullKeys} null keys, ${markSeconds.toFixed(1)} s per bundle`);

    const steal = async (b: typeof sealed, qs: number[], ss: number[]) => withSession(b, async (session) => {
      const bundle = readBundle(b.bytes);
      const h = bundle.header;
      const surface: AttackSurface = {
        head: bundle.head, header: { headInputs: h.headInputs, inputs: h.inputs, outputs: h.outputs },
        query: publicQuery((cut) => session.enclaveProcess!.forward(cut), h.outputs.map((t) => t.name), mode),
      };
      return stealTail(surface, { data: { [input]: attackX }, queries: qs, mode, seeds: ss, minEpochs, predictOn: { [input]: testX }, progress: log });
    });
    const stolen = await steal(sealed, queries, seeds);
    const rows = stolen.map((p) => ({
      suspect: `substitute Q=${p.queries} seed ${p.seed}`, queries: p.queries, seed: p.seed, substitute: p.substitute,
      accuracy: share(p.labels, testY), fidelity: share(p.labels, m.victim),
      right: judged('right', m, p.labels), wrong: mWrong.map((w, i) => judged(`wrong ${i + 1}`, w, p.labels)),
    }));
    const qMax = Math.max(...queries);
    const [control] = await steal(plain, [qMax], [seeds[0]!]);
    const indepLabels = await labelsOfModel(independent, input);
    const victimLabels = await labelsOfModel(encodeModel(model), input);
    for (const [suspect, labels] of [[`control: substitute of the unwatermarked bundle, Q=${qMax} seed ${seeds[0]}`, control!.labels], ['independent model (another seed)', indepLabels], ['the victim itself (unmarked)', victimLabels]] as const) {
      rows.push({
        suspect, queries: NaN, seed: NaN, substitute: '', accuracy: share(labels, testY), fidelity: share(labels, m.victim),
        right: judged('right', m, labels), wrong: mWrong.map((w, i) => judged(`wrong ${i + 1}`, w, labels)),
      });
    }
    results.push({ k, rate, mode, cut: split.cutTensors, honest: { plain: accPlain, watermarked: accMarked }, marked: m.marked, judgedPerKey: m.own.rows.length, nullKeys, markSeconds, rows });

    const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
    const p = (j: Judged) => `${j.verdict === 'match' ? '**match**' : 'no match'} p=${j.pValue.toPrecision(2)} (${j.agreeing}/${j.judged}, null max ${j.nullMax})`;
    md.push(`### k = ${k} (${split.cutTensors.map((t) => `${t.name} [${t.shape.join(',')}]`).join(', ')}), rate ${rate}, ${mode} answers`, '',
      `Honest top-1 on the ${test.count} test images through the enclave: ${pct(accPlain)} without the watermark, ${pct(accMarked)} with it `
      + `(cost ${(100 * (accPlain - accMarked)).toFixed(2)} points). ${m.marked} test images marked; each key judges ${m.own.rows.length}; M = ${nullKeys} null keys.`, '',
      '| suspect | accuracy | fidelity | right key | wrong keys |', '| --- | --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r.suspect} | ${pct(r.accuracy)} | ${pct(r.fidelity)} | ${p(r.right)} | ${r.wrong.map((w) => `${w.verdict === 'match' ? '**match**' : 'no'} p=${w.pValue.toPrecision(2)}`).join('; ')} |`), '');
    log(`k=${k}: done`);
  }
} finally {
  await enclave.close();
}
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'protection-watermark.json'), `${JSON.stringify({ command: process.argv.slice(1).join(' '), date: new Date().toISOString(), results }, null, 1)}\n`);
writeFileSync(join(out, 'protection-watermark.md'), `${md.join('\n')}\n`);
process.stdout.write(`${md.join('\n')}\nwrote ${join(out, 'protection-watermark.json')} and protection-watermark.md\n`);
