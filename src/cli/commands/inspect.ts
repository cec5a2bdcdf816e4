import { GraphView } from '../../onnx/graph.ts';
import { formatShape } from '../../onnx/tensor-spec.ts';
import { inspectModel } from '../../split/inspect.ts';
import { loadModel } from '../../load.ts';
import { basename } from 'node:path';
import { EnclaveNnError } from '../../errors.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { intOption, parseCommandArgs, required } from '../args.ts';
import type { Command } from '../command.ts';

const usage = `usage: enclave-nn inspect <model.onnx|model.json|model.h5|model.keras> [--json]
                    [--html FILE | --svg FILE] [--private N]

Prints one row per layer: index, name, op types, output shape, parameter count and bytes,
estimated FLOPs per sample, and the tensors of the cut after it (with the --private N that
puts everything after it in the enclave).
--html / --svg also draw the layer graph: a dashed line across the cut for each --private k,
the enclave's part (the last N layers; default 1) shaded; the HTML page can shade another k.`;

function human(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

const command: Command = {
  name: 'inspect',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('inspect', argv, { json: { type: 'boolean' }, html: { type: 'string' }, svg: { type: 'string' }, private: { type: 'string' } });
    if (values.html !== undefined && values.svg !== undefined) throw new EnclaveNnError('USAGE', "Cannot run 'inspect': give --html FILE or --svg FILE, not both");
    const path = required('inspect', 'the model file', positionals[0]);
    const view = new GraphView(await loadModel(path));
    await view.inferTypes();
    const info = inspectModel(view);
    const picture = values.html ?? values.svg;
    if (picture !== undefined) {
      const k = intOption('inspect', '--private', values.private, 1, 1);
      if (k > info.layers.length) throw new EnclaveNnError('USAGE', `Cannot run 'inspect': --private ${k} is out of range; valid: 1..${info.layers.length}`);
      const { layoutCuts, cutPictureHtml, cutPictureSvg } = await import('../../split/cut-picture.ts');
      const o = { title: `${basename(path)}: ${info.layers.length} layers; shaded: the enclave's part for --private `, privateLayers: k };
      const laid = layoutCuts(view);
      writeFileAtomic(picture, values.html !== undefined ? cutPictureHtml(laid, o) : cutPictureSvg(laid, o));
      io.stderr(`wrote ${picture}\n`);
    }
    if (values.json) {
      io.stdout(JSON.stringify(info, null, 2) + '\n');
      return 0;
    }
    const io1 = (specs: typeof info.inputs) => specs.map((s) => `${s.name} ${s.dtype}${formatShape(s.shape)}`).join(', ');
    io.stdout(`model ${path}\ninputs  ${io1(info.inputs)}\noutputs ${io1(info.outputs)}\n`);
    io.stdout(`${info.layers.length} ${info.granularity === 'layer' ? 'layers' : 'nodes (no layer names found: node granularity)'}; types: ${Object.entries(info.typeSources).map(([k, v]) => `${v} ${k}`).join(', ')}\n\n`);
    const rows = [['#', 'layer', 'ops', 'output', 'params', 'bytes', 'flops', 'cut after (--private k)']];
    for (const r of info.layers) {
      rows.push([
        String(r.index), r.name, r.opTypes.join('+'), r.output ? formatShape(r.output.shape) : '?',
        human(r.paramCount), human(r.paramSize), human(r.flops),
        r.privateIfCutAfter === 0 ? '-' : `${r.cutAfter.join(',')} (k=${r.privateIfCutAfter})`,
      ]);
    }
    rows.push(['', 'total', '', '', human(info.totals.paramCount), human(info.totals.paramSize), human(info.totals.flops), '']);
    io.stdout(table(rows));
    return 0;
  },
};
export default command;
