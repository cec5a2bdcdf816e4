import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnclaveNnError } from '../../errors.ts';
import { loadModel } from '../../load.ts';
import { runBench } from '../../bench/run.ts';
import { toTable, writeReport } from '../../report/bench-report.ts';
import { intOption, parseCommandArgs } from '../args.ts';
import type { Command } from '../command.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
/** The MNIST build: the TypeScript source through tsx in a checkout, the compiled file in dist/. */
const MNIST_BUILD = import.meta.url.endsWith('.ts') ? ['--import', 'tsx', join(REPO, 'examples/mnist/build.ts')] : [join(REPO, 'examples/mnist/build.js')];

const usage = `usage: enclave-nn demo [--out DIR] [--untrained] [--repeat N] [--rebuild]

The main job on embedded defaults: builds the paper's MNIST CNN (a short seeded training: one
epoch on the first 5,000 MNIST training images, tested on the first 2,000 test images; or seeded
random weights with --untrained), imports it to ONNX, then for
every split seals the tail, starts an enclave (INSECURE sim platform) and measures it, and
writes the report (HTML, CSV, JSON, plots).
  --out DIR    where to write (default out/demo)      --repeat N   rounds per split (default 20)
  --rebuild  train again even when DIR/mnist/model.onnx exists`;

const command: Command = {
  name: 'demo',
  summary: 'The main job: build the MNIST model, run every split through the enclave, write the report',
  usage,
  async run(argv, io) {
    const { values } = parseCommandArgs('demo', argv, { out: { type: 'string' }, untrained: { type: 'boolean' }, repeat: { type: 'string' }, rebuild: { type: 'boolean' } });
    const out = resolve(values.out ?? 'out/demo');
    const modelDir = join(out, values.untrained ? 'mnist-untrained' : 'mnist');
    const onnx = join(modelDir, 'model.onnx');
    const t0 = performance.now();
    if (values.rebuild || !existsSync(onnx)) {
      io.stdout(`1/3 building the MNIST CNN (${values.untrained ? 'seeded random weights' : 'a short seeded training'}) in ${modelDir}\n`);
      // The example is a separate program (examples depend on the library, not the reverse).
      const r = spawnSync(process.execPath, [...MNIST_BUILD, '--out', modelDir, '--quick', ...(values.untrained ? ['--epochs', '0'] : [])], { stdio: ['ignore', 'inherit', 'inherit'], cwd: REPO });
      if (r.status !== 0 || !existsSync(onnx)) throw new EnclaveNnError('DEMO_BUILD', `Cannot build the MNIST model: examples/mnist/build.ts exited with ${r.status ?? r.signal} and wrote no ${onnx}`, { exitCode: 1 });
    } else {
      io.stdout(`1/3 using the MNIST CNN built before: ${onnx} (--rebuild to train again)\n`);
    }
    const model = await loadModel(onnx);
    io.stdout('2/3 measuring every split through the enclave\n');
    const report = await runBench(model, { repeat: intOption('demo', '--repeat', values.repeat, 20, 1), warmup: 3, modelName: onnx, command: ['enclave-nn', 'demo', ...argv].join(' ') });
    io.stdout(toTable(report));
    const html = await writeReport(report, join(out, 'report'));
    io.stdout(`3/3 report: ${html}  (${((performance.now() - t0) / 1000).toFixed(0)} s in all)\n`);
    return 0;
  },
};
export default command;
