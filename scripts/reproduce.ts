/**
 * Reproduces the eNNclave evaluation for one of its models (the paper's table: vgg16-gap = MIT67,
 * flowers, amazon; the authors' talk: mnist, imdb, rt-polarity):
 *
 *   node --import tsx scripts/reproduce.ts <vgg16-gap|flowers|amazon|mnist|imdb|rt-polarity> [--repeat N] [--warmup N] [--quick] [--splits …]
 *
 * Builds the model with its example script if out/examples/<model>/model.onnx is missing, runs
 * the bench sweep over every split, and writes docs/results/<model>.md (table, targets, a side by
 * side with the experiments' archived timings as ratios, src/bench/paper.ts) with the plots in docs/results/<model>/.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { loadModel } from '../src/load.ts';
import { runBench } from '../src/bench/run.ts';
import { toMarkdown, toTable, writeReport } from '../src/report/bench-report.ts';
import { PAPER, paperComparison } from '../src/bench/paper.ts';
import { parseSplits } from '../src/cli/commands/bench.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { repeat: { type: 'string' }, warmup: { type: 'string' }, quick: { type: 'boolean' }, splits: { type: 'string' }, batch: { type: 'string' } },
});
const model = positionals[0] ?? '';
if (!PAPER[model]) {
  process.stderr.write(`reproduce: unknown model '${model}'; known: ${Object.keys(PAPER).join(', ')}\n`);
  process.exit(2);
}
const root = resolve(import.meta.dirname, '..');
const outDir = join(root, 'out', 'examples', model);
const onnx = join(outDir, 'model.onnx');
if (!existsSync(onnx)) {
  process.stderr.write(`reproduce: building ${model} (examples/${model}/build.ts)\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'examples', model, 'build.ts'), '--out', outDir, ...(values.quick ? ['--quick'] : [])], { stdio: 'inherit', cwd: root });
  if (r.status !== 0 || !existsSync(onnx)) {
    process.stderr.write(`reproduce: cannot build ${model}: the example exited with ${r.status} and wrote no ${onnx}\n`);
    process.exit(1);
  }
}
const repeat = Number(values.repeat ?? 30);
const warmup = Number(values.warmup ?? 5);
const batch = Number(values.batch ?? 1);
const command = ['node --import tsx scripts/reproduce.ts', ...process.argv.slice(2)].join(' ');
const load = (l: number[] | undefined) => (l ? l.map((x) => x.toFixed(2)).join(' ') : '?');
const report = await runBench(await loadModel(onnx), { repeat, warmup, batch, splits: parseSplits(values.splits), modelName: `${model} (out/examples/${model}/model.onnx)`, command });
process.stdout.write(toTable(report));
const resultsDir = join(root, 'docs', 'results', model);
await writeReport(report, resultsDir);
const md = `# ${PAPER[model]!.title}: the eNNclave evaluation, reproduced

Command: \`${command}\` (${new Date(report.startedAt).toISOString().slice(0, 16)}Z, ${(report.durationMs / 1000).toFixed(0)} s).
Machine: ${report.machine.cpus} × ${report.machine.cores}, ${(report.machine.memoryBytes / 2 ** 30).toFixed(0)} GiB, Node ${report.machine.node}, onnxruntime-node ${report.versions['onnxruntime-node'] ?? '?'}; load average (1, 5, 15 min) ${load(report.machine.loadAverage?.start)} at the start, ${load(report.machine.loadAverage?.end)} at the end; a shared, noisy machine: read medians and ratios.
Model: \`out/examples/${model}/model.onnx\`, built by \`examples/${model}/build.ts\` (accuracy and training cost: [training.md](training.md)).
Enclave: the INSECURE \`sim\` platform (a separate process; no SGX hardware here), model key through the development key path.

## Against the eNNclave experiments' timings (ratios; the machines differ)

${paperComparison(model, report)}
## Every split

${toMarkdown(report)}
## Plots

![time per split](${model}/time-per-split.png)
![setup per split](${model}/setup-per-split.png)
![impact ratios](${model}/impact-ratios.png)

The full report: [${model}/report.html](${model}/report.html); data: [report.json](${model}/report.json), [splits.csv](${model}/splits.csv).
`;
writeFileSync(join(root, 'docs', 'results', `${model}.md`), md);
process.stdout.write(`wrote docs/results/${model}.md and docs/results/${model}/\n`);
