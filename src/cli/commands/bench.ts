import { basename, resolve } from 'node:path';
import { EnclaveNnError } from '../../errors.ts';
import { loadModel } from '../../load.ts';
import { runBench } from '../../bench/run.ts';
import { toTable, writeReport } from '../../report/bench-report.ts';
import { readInputs } from '../../runtime/inputs.ts';
import { GraphView } from '../../onnx/graph.ts';
import { intOption, ortThreadsOption, parseCommandArgs, required } from '../args.ts';
import type { Command } from '../command.ts';

const usage = `usage: enclave-nn bench <model> [--splits all|K,K,…] [--repeat N] [--warmup N] [--cold N]
                  [--batch B[,B,…]] [--engine ort|wasm] [--ort-threads auto|N]
                  [--input x.npy|x.json] [--out DIR]

For every split k (k = layers in the enclave; 0 = all public): seals the tail, starts an enclave
(INSECURE sim platform, dev key), and measures the head, the tail natively, the tail in the public
runtime and the tail through the enclave — steady: medians of --repeat back-to-back calls after
--warmup; cold: --cold single calls each after 12 ms idle. --batch 1,8,64 measures the first batch
size as above and adds a throughput sweep (samples/s, native and enclave) over all of them.
--ort-threads: onnxruntime intra-op threads of each enclave and of both in-process baselines alike;
auto = 1 for a tail under the measured crossover FLOPs per call, else one per core.
Prints a table; writes report.html, report.json, splits.csv (throughput.csv) and the plots
(SVG, PNG) to --out (default out/bench/<model>), atomically.
defaults: --repeat 30, --warmup 5, --cold min(repeat, 10), --batch 1, --engine ort, --ort-threads auto.`;

/** Parses `--batch 1` or `--batch 1,8,64` (each ≥ 1). */
export function parseBatches(value: string | undefined): number[] {
  if (value === undefined) return [1];
  const bs = value.split(',').map((x) => x.trim());
  if (bs.some((b) => !/^\d+$/.test(b) || Number(b) < 1)) throw new EnclaveNnError('USAGE', `Cannot run 'bench': --batch must be a batch size ≥ 1 or a list like 1,8,64, got '${value}'`);
  return [...new Set(bs.map(Number))];
}

/** Parses `--splits all|1,2,5`. */
export function parseSplits(value: string | undefined): number[] | undefined {
  if (value === undefined || value === 'all') return undefined;
  const ks = value.split(',').map((s) => Number(s.trim()));
  if (ks.some((k) => !Number.isInteger(k))) throw new EnclaveNnError('USAGE', `Cannot run 'bench': --splits must be 'all' or integers like 1,2,3, got '${value}'`);
  return ks;
}

const command: Command = {
  name: 'bench',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('bench', argv, {
      splits: { type: 'string' }, repeat: { type: 'string' }, warmup: { type: 'string' }, batch: { type: 'string' }, cold: { type: 'string' },
      engine: { type: 'string' }, 'ort-threads': { type: 'string' }, input: { type: 'string' }, out: { type: 'string' },
    });
    const path = required('bench', 'the model file', positionals[0]);
    const repeat = intOption('bench', '--repeat', values.repeat, 30, 1);
    const warmup = intOption('bench', '--warmup', values.warmup, 5, 0);
    const batches = parseBatches(values.batch);
    const batch = batches[0]!;
    const ortThreads = values['ort-threads'] === undefined || values['ort-threads'] === 'auto' ? 'auto' as const : ortThreadsOption('bench', values['ort-threads']);
    const cold = values.cold === undefined ? undefined : intOption('bench', '--cold', values.cold, 10, 0);
    const out = resolve(values.out ?? `out/bench/${basename(path).replace(/\.[^.]+$/, '')}`);
    const model = await loadModel(path);
    const feeds = values.input ? readInputs([values.input], new GraphView(model).inputs) : undefined;
    const controller = new AbortController();
    const onSigint = () => {
      io.stderr('\nenclave-nn bench: interrupt received; shutting enclaves down\n');
      controller.abort();
    };
    process.once('SIGINT', onSigint);
    try {
      const report = await runBench(model, {
        splits: parseSplits(values.splits), repeat, warmup, batch, cold, throughputBatches: batches.length > 1 ? batches : [], engine: values.engine ?? 'ort', ortThreads, feeds,
        command: ['enclave-nn', 'bench', ...argv].join(' '), modelName: path, signal: controller.signal,
      });
      io.stdout(toTable(report));
      const html = await writeReport(report, out);
      io.stdout(`report: ${html}\n`);
      return 0;
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};
export default command;
