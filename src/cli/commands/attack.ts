import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { evaluateProtection, type SavedSubstitute } from '../../attack/evaluate.ts';
import { readNpy } from '../../attack/npy.ts';
import { attackTable, writeAttackReport } from '../../attack/report.ts';
import { checkSubstituteDir, writeSubstitutes } from '../../attack/save-substitutes.ts';
import { parseOutputPolicy } from '../../bundle/output-policy.ts';
import type { AnswerMode, AttackerKind } from '../../attack/types.ts';
import { runBench } from '../../bench/run.ts';
import type { BenchReport } from '../../report/types.ts';
import { EnclaveNnError } from '../../errors.ts';
import { loadModel } from '../../load.ts';
import { GraphView } from '../../onnx/graph.ts';
import type { TensorData } from '../../onnx/ort.ts';
import { intOption, parseCommandArgs, required } from '../args.ts';
import type { Command } from '../command.ts';

const usage = `usage: enclave-nn attack <model> --data X.npy --test DIR|X.npy [--labels Y.npy]
                   [--queries 50,500,5000] [--splits all|K,K,…] [--mode label|prob]
                   [--defences prob,label,top-k:K,round:D,perturb:reverse-sigmoid:B[:G]]
                   [--attackers generic,architecture,own-data,pretrained] [--seeds N]
                   [--data-labels Y.npy] [--pretrained model.json] [--min-epochs N]
                   [--max-stolen-accuracy A] [--bench report.json | --bench-repeat N]
                   [--train-passes N] [--seed S] [--engine ort|wasm] [--out DIR]
                   [--save-substitutes DIR] [--query-source TEXT]

How much does each split protect against query-based model stealing (docs/attack.md)? For every
split k and budget Q, an attacker holding the public head sends Q inputs from --data through the
head and the enclave (INSECURE sim platform, dev key), trains a substitute tail on the answers
and is scored on the labelled test set: accuracy, fidelity to the victim, substitute/victim
ratio. Attackers: 'generic' (a substitute chosen from the cut's shape), 'architecture' (the
tail's true architecture, revealed by the evaluator, retrained from scratch: an upper bound),
'own-data' (the no-query baseline: trained on --data-labels, sends nothing), 'pretrained' (a
public TF.js model fine-tuned on the answers; only where the whole model is private).
--defences seals each split once per output policy and attacks what the enclave answers
('prob' = probabilities); without it, --mode picks label-only or probability answers. Costs come
from a bench run (--bench-repeat rounds) or a saved bench report.json (--bench). Writes
report.html (the bench report plus a "protection versus cost" section), attack.json, attack.csv
and the charts to --out, atomically.
  --test DIR           a folder with test-x.npy and test-y.npy (or x.npy and y.npy)
  --seeds N            train every substitute with seeds S … S+N−1 (mean ± sd reported)
  --data-labels Y.npy  the true labels of --data's rows (adds the own-data baseline)
  --min-epochs N       the epoch cap's floor at large Q (early stopping ends it sooner)
  --save-substitutes DIR  write every substitute as ONNX (head + tail files, substitutes.json);
                       DIR must not exist or be empty
  --query-source TEXT  where --data comes from, for the report (e.g. "IMDB reviews, out of
                       distribution"); default in-distribution
defaults: --queries 50,500,5000, --mode label, --attackers generic,architecture,
  --bench-repeat 5, --train-passes 10000, --seed 1, --seeds 1, --min-epochs 1,
  --out out/attack/<model>.`;

/** Converts an array read from .npy to the dtype a model input wants. */
function asDtype(t: TensorData, dtype: TensorData['dtype'], what: string): TensorData {
  if (t.dtype === dtype) return t;
  const n = t.data.length;
  const nums = (i: number) => Number(t.data[i]!);
  if (dtype === 'float32') return { dtype, dims: t.dims, data: Float32Array.from({ length: n }, (_, i) => nums(i)) };
  if (dtype === 'int64') return { dtype, dims: t.dims, data: BigInt64Array.from({ length: n }, (_, i) => BigInt(Math.round(nums(i)))) };
  if (dtype === 'int32') return { dtype, dims: t.dims, data: Int32Array.from({ length: n }, (_, i) => Math.round(nums(i))) };
  throw new EnclaveNnError('USAGE', `Cannot run 'attack': ${what} is ${t.dtype}, the model's input is ${dtype}`);
}

/** Class labels from a .npy: integers [N], or one-hot / scores [N, C] (argmax). */
function labelsFrom(t: TensorData, what: string): Int32Array {
  const n = t.dims[0] ?? 0;
  const c = t.dims.length === 1 ? 1 : t.dims.slice(1).reduce((a, b) => a * b, 1);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (c === 1) { out[i] = Number(t.data[i]!); continue; }
    let best = 0;
    for (let j = 1; j < c; j++) if (Number(t.data[i * c + j]!) > Number(t.data[i * c + best]!)) best = j;
    out[i] = best;
  }
  if (out.some((v) => !Number.isInteger(v) || v < 0)) throw new EnclaveNnError('USAGE', `Cannot run 'attack': ${what} must hold class indices ≥ 0`);
  return out;
}

const ATTACKERS: readonly AttackerKind[] = ['generic', 'architecture', 'own-data', 'pretrained'];

/** `--defences` → defence strings, each checked as an output policy ('prob' = probabilities); duplicates refused. */
function parseDefences(text: string): string[] {
  const list = text.split(',').map((s) => s.trim());
  for (const d of list) {
    if (d === 'prob') continue;
    try {
      parseOutputPolicy(d);
    } catch (e) {
      throw new EnclaveNnError('USAGE', `Cannot run 'attack': --defences entry '${d}' is not an output policy (${(e as Error).message.replace(/^Cannot read output policy '.*?': /, '')})`, { cause: e });
    }
  }
  if (new Set(list).size !== list.length) throw new EnclaveNnError('USAGE', `Cannot run 'attack': --defences lists a defence twice, got '${text}'`);
  return list;
}

function testFiles(test: string, labels: string | undefined): [string, string] {
  let dir = false;
  try { dir = statSync(test).isDirectory(); } catch { /* reported by readNpy */ }
  if (!dir) return [test, required('attack', '--labels (the test labels .npy; or give --test a folder)', labels)];
  for (const [x, y] of [['test-x.npy', 'test-y.npy'], ['x.npy', 'y.npy']] as const) {
    if (existsSync(join(test, x)) && existsSync(join(test, y))) return [join(test, x), join(test, y)];
  }
  throw new EnclaveNnError('USAGE', `Cannot run 'attack': folder ${test} holds neither test-x.npy + test-y.npy nor x.npy + y.npy`);
}

const command: Command = {
  name: 'attack',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('attack', argv, {
      data: { type: 'string' }, test: { type: 'string' }, labels: { type: 'string' }, queries: { type: 'string' }, splits: { type: 'string' },
      mode: { type: 'string' }, attackers: { type: 'string' }, 'max-stolen-accuracy': { type: 'string' }, bench: { type: 'string' },
      'bench-repeat': { type: 'string' }, 'train-passes': { type: 'string' }, seed: { type: 'string' }, engine: { type: 'string' }, out: { type: 'string' },
      defences: { type: 'string' }, seeds: { type: 'string' }, 'data-labels': { type: 'string' }, pretrained: { type: 'string' },
      'min-epochs': { type: 'string' }, 'save-substitutes': { type: 'string' }, 'query-source': { type: 'string' },
    });
    const path = required('attack', 'the model file', positionals[0]);
    if (path.endsWith('.enn')) throw new EnclaveNnError('USAGE', "Cannot run 'attack' on a bundle: give the model file (the evaluator needs every split and the tail's architecture)");
    const dataPath = required('attack', '--data (the attacker\'s inputs .npy)', values.data);
    const [testX, testY] = testFiles(required('attack', '--test (the labelled test set)', values.test), values.labels);
    const queries = (values.queries ?? '50,500,5000').split(',').map((s) => Number(s.trim()));
    if (queries.some((q) => !Number.isInteger(q) || q < 0)) throw new EnclaveNnError('USAGE', `Cannot run 'attack': --queries must be integers ≥ 0 like 50,500,5000, got '${values.queries}'`);
    const mode = (values.mode ?? 'label') as AnswerMode;
    if (mode !== 'label' && mode !== 'prob') throw new EnclaveNnError('USAGE', `Cannot run 'attack': --mode must be 'label' or 'prob', got '${values.mode}'`);
    const attackers = (values.attackers ?? 'generic,architecture').split(',').map((s) => s.trim()) as AttackerKind[];
    if (attackers.length === 0 || attackers.some((a) => !ATTACKERS.includes(a))) {
      throw new EnclaveNnError('USAGE', `Cannot run 'attack': --attackers must list some of ${ATTACKERS.join(', ')}, got '${values.attackers}'`);
    }
    if (values['data-labels'] !== undefined && !attackers.includes('own-data')) attackers.push('own-data');
    if (values.pretrained !== undefined && !attackers.includes('pretrained')) attackers.push('pretrained');
    if (attackers.includes('own-data') && values['data-labels'] === undefined) throw new EnclaveNnError('USAGE', "Cannot run 'attack': the 'own-data' attacker needs --data-labels (the true labels of --data)");
    if (attackers.includes('pretrained') && values.pretrained === undefined) throw new EnclaveNnError('USAGE', "Cannot run 'attack': the 'pretrained' attacker needs --pretrained (a public TF.js model.json)");
    const defences = values.defences === undefined ? undefined : parseDefences(values.defences);
    const seedCount = intOption('attack', '--seeds', values.seeds, 1, 1);
    const minEpochs = intOption('attack', '--min-epochs', values['min-epochs'], 1, 1);
    if (minEpochs > 100) throw new EnclaveNnError('USAGE', `Cannot run 'attack': --min-epochs must be at most 100 (the epoch cap), got '${values['min-epochs']}'`);
    const saveDir = values['save-substitutes'] === undefined ? undefined : resolve(values['save-substitutes']);
    if (saveDir) checkSubstituteDir(saveDir);
    let maxStolen: number | undefined;
    if (values['max-stolen-accuracy'] !== undefined) {
      maxStolen = Number(values['max-stolen-accuracy']);
      if (!(maxStolen >= 0 && maxStolen <= 1)) throw new EnclaveNnError('USAGE', `Cannot run 'attack': --max-stolen-accuracy must be in [0, 1], got '${values['max-stolen-accuracy']}'`);
    }
    const benchRepeat = intOption('attack', '--bench-repeat', values['bench-repeat'], 5, 1);
    const trainPasses = intOption('attack', '--train-passes', values['train-passes'], 10000, 1);
    const seed = intOption('attack', '--seed', values.seed, 1);
    if (benchRepeat < 1 || trainPasses < 1) throw new EnclaveNnError('USAGE', "Cannot run 'attack': --bench-repeat and --train-passes must be ≥ 1");
    const out = resolve(values.out ?? `out/attack/${basename(path).replace(/\.[^.]+$/, '')}`);
    let splits: number[] | undefined;
    if (values.splits !== undefined && values.splits !== 'all') {
      splits = values.splits.split(',').map((x) => Number(x.trim()));
      if (splits.some((k) => !Number.isInteger(k) || k < 0)) throw new EnclaveNnError('USAGE', `Cannot run 'attack': --splits must be 'all' or integers like 1,2,3, got '${values.splits}'`);
    }

    const model = await loadModel(path);
    const view = new GraphView(model);
    if (view.inputs.length !== 1) throw new EnclaveNnError('USAGE', `Cannot run 'attack': the model has ${view.inputs.length} inputs; the command takes single-input models (use the library for more)`);
    const input = view.inputs[0]!;
    const data = asDtype(readNpy(dataPath), input.dtype, dataPath);
    const tx = asDtype(readNpy(testX), input.dtype, testX);
    const labels = labelsFrom(readNpy(testY), testY);
    const maxQ = Math.max(...queries);
    if ((data.dims[0] ?? 0) < maxQ) throw new EnclaveNnError('USAGE', `Cannot run 'attack': --data has ${data.dims[0]} rows, --queries needs ${maxQ}`);
    const dataLabels = values['data-labels'] === undefined ? undefined : labelsFrom(readNpy(values['data-labels']), values['data-labels']);
    if (dataLabels && dataLabels.length < maxQ) throw new EnclaveNnError('USAGE', `Cannot run 'attack': --data-labels has ${dataLabels.length} labels, --queries needs ${maxQ}`);

    let bench: BenchReport;
    if (values.bench) {
      try {
        bench = JSON.parse(readFileSync(values.bench, 'utf8')) as BenchReport;
      } catch (e) {
        throw new EnclaveNnError('USAGE', `Cannot read bench report ${values.bench}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
      }
      if (!Array.isArray(bench.splits)) throw new EnclaveNnError('USAGE', `Cannot read bench report ${values.bench}: it has no 'splits'`);
    } else {
      io.stderr(`attack: measuring the cost of each split (bench, ${benchRepeat} repeats)\n`);
      bench = await runBench(model, { splits, repeat: benchRepeat, warmup: 1, engine: values.engine ?? 'ort', modelName: path, command: ['enclave-nn', 'attack', ...argv].join(' ') });
    }
    const saved: SavedSubstitute[] = [];
    const report = await evaluateProtection(model, {
      data: { [input.name]: data }, test: { inputs: { [input.name]: tx }, labels }, queries, splits, mode, attackers, seed, trainPasses, bench,
      defences, seeds: Array.from({ length: seedCount }, (_, i) => seed + i), minEpochs, dataLabels, pretrained: values.pretrained, querySource: values['query-source'],
      saveSubstitute: saveDir ? (sub) => { saved.push(sub); } : undefined,
      maxStolenAccuracy: maxStolen, engine: values.engine, command: ['enclave-nn', 'attack', ...argv].join(' '), modelName: path,
      progress: (line) => io.stderr(`attack: ${line}\n`),
    });
    io.stdout(attackTable(report));
    const html = await writeAttackReport(report, bench, out);
    if (saveDir) io.stdout(`substitutes: ${writeSubstitutes(saveDir, saved).length} ONNX tails in ${saveDir} (substitutes.json)\n`);
    io.stdout(`report: ${html} (attack.json, attack.csv beside it); took ${(report.durationMs / 1000).toFixed(1)} s (CPU ${report.cpuSeconds.toFixed(0)} s)\n`);
    return 0;
  },
};
export default command;
