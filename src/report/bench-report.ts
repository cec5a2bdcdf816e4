import { mkdirSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { EnclaveNnError } from '../errors.ts';
import { formatMs, type Stat } from './stats.ts';
import { escapeHtml, lines, stackedBars, svgToPng } from './svg-chart.ts';
import type { BenchReport } from './types.ts';

/** The CSV columns, in order; documented in docs/bench.md. */
export const CSV_COLUMNS = [
  'k', 'first_private_layer', 'cut_tensors', 't_full_ms', 't_head_ms', 't_native_ms', 't_tail_public_ms', 't_enclave_ms',
  't_enclave_compute_ms', 't_boundary_ms', 't_enclave_p10_ms', 't_enclave_p90_ms', 'cpu_impact', 'tee_impact', 'end_to_end',
  'setup_spawn_ms', 'setup_attest_provision_ms', 'setup_load_decrypt_ms', 'setup_session_create_ms', 'setup_ready_total_ms', 'teardown_ms',
  'enclave_peak_rss_bytes', 'tail_weight_bytes', 'largest_activation_bytes', 'sealed_tail_bytes', 'max_abs_diff', 'labels_equal',
] as const;

function csvCell(v: unknown): string {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(+v.toPrecision(6)) : '') : String(v ?? '');
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV row per split. */
export function toCsv(r: BenchReport): string {
  const rows = r.splits.map((s) => [
    s.k, s.firstPrivateLayer ?? '', s.cutTensors.join(' '), r.t_full.median, s.t_head.median, s.t_native.median, s.t_tail_public.median,
    s.t_enclave.median, s.t_enclave_compute.median, s.t_boundary.median, s.t_enclave.p10, s.t_enclave.p90, s.cpu_impact, s.tee_impact, s.end_to_end,
    s.setup.spawn, s.setup.attest_provision, s.setup.load_decrypt, s.setup.session_create, s.setup.ready_total, s.setup.teardown,
    s.enclave_peak_rss_bytes, s.tail_weight_bytes, s.largest_activation_bytes, s.sealed_tail_bytes, s.max_abs_diff, s.labels_equal,
  ].map(csvCell).join(','));
  return [CSV_COLUMNS.join(','), ...rows].join('\n') + '\n';
}

const med = (s: Stat) => s.median;
const fmtRatio = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '-');

/** The terminal table printed at the end of a sweep. */
export function toTable(r: BenchReport): string {
  const head = ['k', 'first private', 't_head', 't_native', 't_enclave', 'boundary', 'CPU imp.', 'TEE imp.', 'end-to-end', 'setup', 'max diff'];
  const rows = r.splits.map((s) => [
    String(s.k), s.firstPrivateLayer ?? '(all public)', formatMs(med(s.t_head)), formatMs(med(s.t_native)), formatMs(med(s.t_enclave)),
    formatMs(med(s.t_boundary)), fmtRatio(s.cpu_impact), fmtRatio(s.tee_impact), fmtRatio(s.end_to_end),
    s.k === 0 ? '-' : formatMs(s.setup.ready_total), s.max_abs_diff.toExponential(1),
  ]);
  const all = [head, ...rows];
  const w = head.map((_, i) => Math.max(...all.map((x) => x[i]!.length)));
  const text = all.map((x) => x.map((c, i) => c.padEnd(w[i]!)).join('  ')).join('\n');
  const targets = r.targets.map((t) => `  ${t.met ? 'met   ' : 'MISSED'} ${t.name} ${t.bound}${t.met ? '' : ': ' + t.rows.filter((x) => !x.met).map((x) => `k=${x.k} ${x.value.toPrecision(3)} > ${x.limit.toPrecision(3)}`).join('; ')}`);
  return `t_full (all public, in-process) = ${formatMs(r.t_full.median)} median over ${r.t_full.n}\n${text}\ntargets:\n${targets.join('\n')}\n`;
}

/** The three plots as SVG text. */
export function plots(r: BenchReport): Record<string, string> {
  const cats = r.splits.map((s) => `k=${s.k}`);
  return {
    'time-per-split': stackedBars({
      title: `Inference time per split (batch ${r.options.batch})`, categories: cats, yLabel: 'milliseconds (median)',
      series: [
        { name: 'head (public)', color: '#4e79a7', values: r.splits.map((s) => s.t_head.median) },
        { name: 'enclave compute', color: '#e15759', values: r.splits.map((s) => s.t_enclave_compute.median) },
        { name: 'enclave boundary', color: '#f28e2b', values: r.splits.map((s) => Math.max(0, s.t_boundary.median)) },
      ],
      references: [{ name: 'all public (t_full)', value: r.t_full.median, color: '#333', dashed: true }],
    }),
    'setup-per-split': stackedBars({
      title: 'Enclave setup per split (once per session)', categories: cats.slice(1), yLabel: 'milliseconds',
      series: [
        { name: 'spawn', color: '#76b7b2', values: r.splits.slice(1).map((s) => s.setup.spawn) },
        { name: 'attest + provision', color: '#59a14f', values: r.splits.slice(1).map((s) => s.setup.attest_provision) },
        { name: 'load + decrypt', color: '#edc948', values: r.splits.slice(1).map((s) => s.setup.load_decrypt) },
        { name: 'session create', color: '#b07aa1', values: r.splits.slice(1).map((s) => s.setup.session_create) },
      ],
      references: [{ name: 'target 150 ms', value: 150, color: '#e15759', dashed: true }],
    }),
    'impact-ratios': lines({
      title: 'TEE impact and CPU impact per split', categories: cats.slice(1), yLabel: 'ratio',
      series: [
        { name: 'TEE impact (enclave/native)', color: '#e15759', values: r.splits.slice(1).map((s) => s.tee_impact) },
        { name: 'CPU impact (native/public)', color: '#4e79a7', values: r.splits.slice(1).map((s) => s.cpu_impact) },
        { name: 'end to end', color: '#59a14f', values: r.splits.slice(1).map((s) => s.end_to_end) },
      ],
      references: [{ name: 'ratio 1', value: 1, color: '#999', dashed: true }, { name: '1.05', value: 1.05, color: '#e15759', dashed: true }],
    }),
  };
}

const escHtml = escapeHtml;

/** A self-contained HTML page: plots inline, the table, targets, machine, versions, command. */
export function toHtml(r: BenchReport, svgs: Record<string, string>, extraSections: string[] = []): string {
  const rows = r.splits.map((s) => `<tr><td>${s.k}</td><td>${escHtml(s.firstPrivateLayer ?? '(all public)')}</td><td>${formatMs(s.t_head.median)}</td><td>${formatMs(s.t_native.median)}</td><td>${formatMs(s.t_tail_public.median)}</td><td>${formatMs(s.t_enclave.median)}</td><td>${formatMs(s.t_enclave_compute.median)}</td><td>${formatMs(s.t_boundary.median)}</td><td>${fmtRatio(s.cpu_impact)}</td><td>${fmtRatio(s.tee_impact)}</td><td>${fmtRatio(s.end_to_end)}</td><td>${s.k ? formatMs(s.setup.ready_total) : '-'}</td><td>${(s.enclave_peak_rss_bytes / 2 ** 20).toFixed(0)} MiB</td><td>${s.max_abs_diff.toExponential(1)}</td><td>${s.labels_equal ? 'yes' : 'NO'}</td></tr>`).join('\n');
  const targets = r.targets.map((t) => `<li class="${t.met ? 'met' : 'missed'}"><b>${t.met ? 'met' : 'MISSED'}</b> ${escHtml(t.name)} ${escHtml(t.bound)}${t.met ? '' : ': ' + escHtml(t.rows.filter((x) => !x.met).map((x) => `k=${x.k}: ${x.value.toPrecision(3)} > ${x.limit.toPrecision(3)}`).join('; '))}</li>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>enclave-nn bench: ${escHtml(basename(r.model))}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}td:nth-child(2){text-align:left}.met{color:#2a7a2a}.missed{color:#b00}code{background:#f4f4f4;padding:2px 4px}figure{display:inline-block;margin:0 1em 1em 0}</style></head>
<body>
<h1>enclave-nn bench: ${escHtml(basename(r.model))}</h1>
<p>Command: <code>${escHtml(r.command)}</code><br>Started ${escHtml(r.startedAt)}, took ${(r.durationMs / 1000).toFixed(1)} s. Batch ${r.options.batch}, ${r.options.repeat} repeats after ${r.options.warmup} warm-up, engine <b>${escHtml(r.options.engine)}</b>, splits measured interleaved (round-robin).</p>
<p>t_full (the unsplit model in-process) = ${formatMs(r.t_full.median)} (median; p10 ${formatMs(r.t_full.p10)}, p90 ${formatMs(r.t_full.p90)}).</p>
<h2>Targets</h2><ul>${targets}</ul>
<h2>Plots</h2>
${Object.entries(svgs).map(([k, v]) => `<figure id="${k}">${v}</figure>`).join('\n')}
<h2>Per split</h2>
<table><thead><tr><th>k</th><th>first private layer</th><th>t_head</th><th>t_native</th><th>t_tail_public</th><th>t_enclave</th><th>enclave compute</th><th>boundary</th><th>CPU impact</th><th>TEE impact</th><th>end to end</th><th>setup</th><th>peak RSS</th><th>max abs diff</th><th>labels equal</th></tr></thead>
<tbody>${rows}</tbody></table>
${extraSections.join('\n')}
<h2>Machine and versions</h2>
<p>${escHtml(r.machine.cpus)} × ${r.machine.cores}, ${(r.machine.memoryBytes / 2 ** 30).toFixed(0)} GiB, ${escHtml(r.machine.platform)}, Node ${escHtml(r.machine.node)}</p>
<p>${Object.entries(r.versions).map(([k, v]) => `${escHtml(k)} ${escHtml(v)}`).join(', ')}</p>
</body></html>
`;
}

/**
 * Writes the report files (report.json, splits.csv, plots as SVG and PNG, report.html) into a
 * temporary folder beside `outDir` and renames it into place, so an interrupted or failed run
 * leaves no half-written report. An existing `outDir` is replaced only after the new one is complete.
 */
export async function writeReport(r: BenchReport, outDir: string, extra: { html?: string[]; files?: Record<string, string | Uint8Array> } = {}): Promise<string> {
  const parent = dirname(outDir);
  try {
    mkdirSync(parent, { recursive: true });
  } catch (e) {
    throw new EnclaveNnError('FILE_WRITE', `Cannot write report to ${outDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  const tmp = join(parent, `.${basename(outDir)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(tmp);
    const svgs = plots(r);
    for (const [name, svg] of Object.entries(svgs)) {
      writeFileSync(join(tmp, `${name}.svg`), svg);
      writeFileSync(join(tmp, `${name}.png`), await svgToPng(svg));
    }
    writeFileSync(join(tmp, 'report.json'), JSON.stringify(r, null, 2) + '\n');
    writeFileSync(join(tmp, 'splits.csv'), toCsv(r));
    writeFileSync(join(tmp, 'report.html'), toHtml(r, svgs, extra.html));
    for (const [name, data] of Object.entries(extra.files ?? {})) writeFileSync(join(tmp, name), data);
    if (existsSync(outDir)) rmSync(outDir, { recursive: true, force: true });
    renameSync(tmp, outDir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof EnclaveNnError) throw e;
    throw new EnclaveNnError('FILE_WRITE', `Cannot write report to ${outDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  return join(outDir, 'report.html');
}

/** The per-split table and the targets as Markdown (for docs/results). */
export function toMarkdown(r: BenchReport): string {
  const head = '| k | first private layer | t_head | t_native | t_tail_public | t_enclave | enclave compute | boundary | CPU impact | TEE impact | end to end | setup | peak RSS | max abs diff | labels |\n|' + ' --- |'.repeat(15);
  const rows = r.splits.map((s) => `| ${s.k} | ${s.firstPrivateLayer ?? '(all public)'} | ${formatMs(s.t_head.median)} | ${formatMs(s.t_native.median)} | ${formatMs(s.t_tail_public.median)} | ${formatMs(s.t_enclave.median)} | ${formatMs(s.t_enclave_compute.median)} | ${formatMs(s.t_boundary.median)} | ${fmtRatio(s.cpu_impact)} | ${fmtRatio(s.tee_impact)} | ${fmtRatio(s.end_to_end)} | ${s.k ? formatMs(s.setup.ready_total) : '-'} | ${s.k ? (s.enclave_peak_rss_bytes / 2 ** 20).toFixed(0) + ' MiB' : '-'} | ${s.max_abs_diff.toExponential(1)} | ${s.labels_equal ? 'equal' : 'DIFFER'} |`);
  const targets = r.targets.map((t) => `- ${t.met ? 'met' : '**MISSED**'}: ${t.name} ${t.bound}${t.met ? '' : ' — ' + t.rows.filter((x) => !x.met).map((x) => `k=${x.k}: ${x.value.toPrecision(3)} > ${x.limit.toPrecision(3)}`).join('; ')}`);
  return `t_full (the unsplit model in-process) = ${formatMs(r.t_full.median)}; batch ${r.options.batch}; ${r.options.repeat} repeats after ${r.options.warmup} warm-up; engine ${r.options.engine}.\n\n${head}\n${rows.join('\n')}\n\nTargets:\n\n${targets.join('\n')}\n`;
}
