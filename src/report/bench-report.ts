import { mkdirSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { EnclaveNnError } from '../errors.ts';
import { formatMs, type Stat } from './stats.ts';
import { escapeHtml, lines, stackedBars, svgToPng } from './svg-chart.ts';
import type { BenchReport } from './types.ts';

/** The platform in words: what a reader of the report must know first. */
export function teeOf(platform: string): NonNullable<BenchReport['tee']> {
  const insecure = platform === 'sim';
  return { platform, insecure, label: insecure ? `${platform} — INSECURE, protects nothing` : `${platform} — hardware TEE` };
}

/** The CSV columns, in order; documented in docs/bench.md. */
export const CSV_COLUMNS = [
  'k', 'first_private_layer', 'cut_tensors', 't_full_ms', 't_head_ms', 't_native_ms', 't_tail_public_ms', 't_enclave_ms',
  't_enclave_compute_ms', 't_boundary_ms', 't_native_p10_ms', 't_native_p90_ms', 't_enclave_p10_ms', 't_enclave_p90_ms',
  't_native_cold_ms', 't_enclave_cold_ms', 't_enclave_cold_p10_ms', 't_enclave_cold_p90_ms', 'cpu_impact', 'tee_impact', 'end_to_end',
  'setup_spawn_ms', 'setup_attest_provision_ms', 'setup_load_decrypt_ms', 'setup_session_create_ms', 'setup_ready_total_ms', 'setup_prewarmed_ms', 'teardown_ms',
  'enclave_peak_rss_bytes', 'tail_weight_bytes', 'largest_activation_bytes', 'sealed_tail_bytes', 'max_abs_diff', 'labels_equal',
  'private_params', 'private_flops', 'ort_threads',
] as const;

function csvCell(v: unknown): string {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(+v.toPrecision(6)) : '') : String(v ?? '');
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV row per split. */
export function toCsv(r: BenchReport): string {
  const rows = r.splits.map((s) => [
    s.k, s.firstPrivateLayer ?? '', s.cutTensors.join(' '), r.t_full.median, s.t_head.median, s.t_native.median, s.t_tail_public.median,
    s.t_enclave.median, s.t_enclave_compute.median, s.t_boundary.median, s.t_native.p10, s.t_native.p90, s.t_enclave.p10, s.t_enclave.p90,
    s.t_native_cold?.median, s.t_enclave_cold?.median, s.t_enclave_cold?.p10, s.t_enclave_cold?.p90, s.cpu_impact, s.tee_impact, s.end_to_end,
    s.setup.spawn, s.setup.attest_provision, s.setup.load_decrypt, s.setup.session_create, s.setup.ready_total, s.setup.prewarmed, s.setup.teardown,
    s.enclave_peak_rss_bytes, s.tail_weight_bytes, s.largest_activation_bytes, s.sealed_tail_bytes, s.max_abs_diff, s.labels_equal,
    s.private_params, s.private_flops, s.ort_threads,
  ].map(csvCell).join(','));
  return [CSV_COLUMNS.join(','), ...rows].join('\n') + '\n';
}

/** Columns of throughput.csv (one row per split and batch size of the sweep). */
export const THROUGHPUT_COLUMNS = ['k', 'batch', 'native_samples_per_s', 'enclave_samples_per_s', 'enclave_over_native'] as const;

/** The throughput sweep as CSV, or undefined when the run had none. */
export function toThroughputCsv(r: BenchReport): string | undefined {
  const rows = r.splits.flatMap((s) => (s.throughput ?? []).map((t) => [s.k, t.batch, t.native_samples_per_s, t.enclave_samples_per_s,
    t.enclave_samples_per_s / t.native_samples_per_s].map(csvCell).join(',')));
  return rows.length ? [THROUGHPUT_COLUMNS.join(','), ...rows].join('\n') + '\n' : undefined;
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
  const targets = r.targets.map((t) => `  ${t.met ? 'reached    ' : 'not reached'} ${t.name} ${t.bound}${t.met ? '' : ': ' + t.rows.filter((x) => !x.met).map((x) => `k=${x.k} ${x.value.toPrecision(3)} > ${x.limit.toPrecision(3)}`).join('; ')}`);
  const tee = r.tee ? `platform: ${r.tee.label}\n` : '';
  return `${tee}t_full (all public, in-process) = ${formatMs(r.t_full.median)} median over ${r.t_full.n}\n${text}\nthe project's performance goals (DESIGN.md), on this machine:\n${targets.join('\n')}\n`;
}

/** The three plots as SVG text. Split k = 0 (all public) has no enclave: it is left out of the setup and ratio plots. */
export function plots(r: BenchReport): Record<string, string> {
  const cats = r.splits.map((s) => `k=${s.k}`);
  const priv = r.splits.filter((s) => s.k > 0);
  const privCats = priv.map((s) => `k=${s.k}`);
  return {
    'time-per-split': stackedBars({
      title: `Inference time per split (batch ${r.options.batch})`, categories: cats, yLabel: 'milliseconds (median)', scale: 'auto',
      series: [
        { name: 'head (public)', color: '#4e79a7', values: r.splits.map((s) => s.t_head.median) },
        { name: 'enclave compute', color: '#e15759', values: r.splits.map((s) => s.t_enclave_compute.median) },
        { name: 'enclave boundary', color: '#f28e2b', values: r.splits.map((s) => Math.max(0, s.t_boundary.median)) },
      ],
      whiskers: { name: 'p10–p90 (head + enclave)', lo: r.splits.map((s) => s.t_head.p10 + s.t_enclave.p10), hi: r.splits.map((s) => s.t_head.p90 + s.t_enclave.p90) },
      references: [{ name: 'all public (t_full)', value: r.t_full.median, color: '#333', dashed: true }],
    }),
    'setup-per-split': stackedBars({
      title: 'Enclave setup per split (once per session)', categories: privCats, yLabel: 'milliseconds',
      series: [
        { name: 'spawn', color: '#76b7b2', values: priv.map((s) => s.setup.spawn) },
        { name: 'attest + provision', color: '#59a14f', values: priv.map((s) => s.setup.attest_provision) },
        { name: 'load + decrypt', color: '#edc948', values: priv.map((s) => s.setup.load_decrypt) },
        { name: 'session create', color: '#b07aa1', values: priv.map((s) => s.setup.session_create) },
      ],
      references: [{ name: 'project goal: 150 ms', value: 150, color: '#e15759', dashed: true }],
    }),
    'impact-ratios': lines({
      title: 'TEE impact and CPU impact per split', categories: privCats, yLabel: 'ratio', scale: 'auto',
      series: [
        { name: 'TEE impact (enclave / native)', color: '#e15759', values: priv.map((s) => s.tee_impact) },
        { name: 'CPU impact (native / public)', color: '#4e79a7', values: priv.map((s) => s.cpu_impact) },
        { name: 'end to end (split / unsplit)', color: '#59a14f', values: priv.map((s) => s.end_to_end) },
      ],
      references: [{ name: 'ratio 1', value: 1, color: '#999', dashed: true }, { name: 'project goal: 1.05', value: 1.05, color: '#e15759', dashed: true }],
    }),
  };
}

const escHtml = escapeHtml;

/** What each figure means, in one sentence each: the report's glossary. */
export const FIGURE_DEFINITIONS: readonly [string, string][] = [
  ['t_full', 'the unsplit model, all public, in this process (onnxruntime-node): the baseline.'],
  ['t_head', 'the public head of split k, in this process.'],
  ['t_native', 'the private tail run in this process on the enclave\'s engine, without an enclave (the paper\'s "native").'],
  ['t_tail_public', 'the same tail layers in the public runtime (onnxruntime-node).'],
  ['t_enclave', 'the tail through the enclave: host → pipe → enclave compute → pipe → host, one round trip.'],
  ['enclave compute', 'the part of t_enclave spent computing inside the enclave (measured there).'],
  ['boundary', 't_enclave − enclave compute: the cost of crossing into the enclave and back (encoding, pipes, scheduling).'],
  ['CPU impact', 't_native / t_tail_public: how much slower the enclave\'s engine is than the public runtime on the same layers (1 = same speed).'],
  ['TEE impact', 't_enclave / t_native: what running inside the TEE adds, for the same engine (1 = nothing).'],
  ['end to end', '(t_head + t_enclave) / t_full: the split model against the unsplit one.'],
  ['setup', 'spawn → ready: starting the enclave, attestation and key release, decrypting and loading the tail (once per session).'],
  ['private params, FLOPs', 'weights and estimated floating-point operations per sample in the enclave\'s part (k layers).'],
  ['sealed tail', 'bytes of the encrypted, padded tail in the bundle.'],
  ['p10, p90', 'the 10th and 90th percentiles over the repeats (the whiskers on the time plot).'],
];

const si = (v: number | undefined) => (v === undefined ? '-' : v >= 1e9 ? `${(v / 1e9).toFixed(2)} G` : v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} k` : String(v));
const load = (l: number[] | undefined) => (l ? l.map((v) => v.toFixed(2)).join(' / ') : 'not recorded');

/**
 * A self-contained HTML page: the platform first, in large type; then `lead` sections (the
 * attack report puts its result there), the project's goals, the plots, the table, the
 * glossary, the machine (with its load), the versions, the command.
 */
export function toHtml(r: BenchReport, svgs: Record<string, string>, extraSections: string[] = [], page: { title?: string; lead?: string[] } = {}): string {
  const title = page.title ?? `enclave-nn bench: ${basename(r.model)}`;
  const tee = r.tee ?? { platform: 'sim', insecure: true, label: 'sim — INSECURE, protects nothing' };
  const rows = r.splits.map((s) => `<tr><td>${s.k}</td><td>${escHtml(s.firstPrivateLayer ?? '(all public)')}</td><td>${formatMs(s.t_head.median)}</td><td>${formatMs(s.t_native.median)}</td><td>${formatMs(s.t_tail_public.median)}</td><td>${formatMs(s.t_enclave.median)}</td><td>${s.k ? `${formatMs(s.t_enclave.p10)}–${formatMs(s.t_enclave.p90)}` : '-'}</td><td>${formatMs(s.t_enclave_compute.median)}</td><td>${formatMs(s.t_boundary.median)}</td><td>${fmtRatio(s.cpu_impact)}</td><td>${fmtRatio(s.tee_impact)}</td><td>${fmtRatio(s.end_to_end)}</td><td>${s.k ? formatMs(s.setup.ready_total) : '-'}</td><td>${si(s.private_params)}</td><td>${si(s.private_flops)}</td><td>${s.k ? `${(s.sealed_tail_bytes / 1024).toFixed(0)} KiB` : '-'}</td><td>${(s.enclave_peak_rss_bytes / 2 ** 20).toFixed(0)} MiB</td><td>${s.max_abs_diff.toExponential(1)}</td><td>${s.labels_equal ? 'yes' : 'NO'}</td></tr>`).join('\n');
  const targets = r.targets.map((t) => `<li class="${t.met ? 'met' : 'missed'}"><b>${t.met ? 'reached' : 'not reached'}</b> ${escHtml(t.name)} ${escHtml(t.bound)}${t.met ? '' : ': ' + escHtml(t.rows.filter((x) => !x.met).map((x) => `k=${x.k}: ${x.value.toPrecision(3)} > ${x.limit.toPrecision(3)}`).join('; '))}</li>`).join('\n');
  const la = r.machine.loadAverage;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1300px}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}td:nth-child(2){text-align:left}.met{color:#2a7a2a}.missed{color:#b00}code{background:#f4f4f4;padding:2px 4px}figure{display:inline-block;margin:0 1em 1em 0}
.platform{font-size:2em;font-weight:bold;padding:.4em .6em;border-radius:6px;margin:.3em 0 .6em}.platform.insecure{background:#fde2e1;color:#a00;border:2px solid #a00}.platform.secure{background:#e3f4e3;color:#1d5e1d;border:2px solid #1d5e1d}dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em;font-size:14px}dt{font-weight:bold}dd{margin:0}</style></head>
<body>
<h1>${escHtml(title)}</h1>
<p id="platform" class="platform ${tee.insecure ? 'insecure' : 'secure'}">Platform: ${escHtml(tee.label)}</p>
${(page.lead ?? []).join('\n')}
<p>Command: <code>${escHtml(r.command)}</code><br>Started ${escHtml(r.startedAt)}, took ${(r.durationMs / 1000).toFixed(1)} s. Batch ${r.options.batch}, ${r.options.repeat} repeats after ${r.options.warmup} warm-up, engine <b>${escHtml(r.options.engine)}</b>, splits measured interleaved (round-robin).<br>
Machine load average (1 / 5 / 15 min): <span id="load">${load(la?.start)} at the start, ${load(la?.end)} at the end</span>${la && la.start[0]! > r.machine.cores * 0.5 ? ' — <b>a loaded machine: every time below is inflated</b>' : ''}.</p>
<p>t_full (the unsplit model in-process) = ${formatMs(r.t_full.median)} (median; p10 ${formatMs(r.t_full.p10)}, p90 ${formatMs(r.t_full.p90)}).</p>
<h2>The project's performance goals</h2>
<p>These are Enclave-NN's own targets (DESIGN.md), checked on this run and this machine. "Not reached" describes the toolkit here — the platform, the machine's load, the split's size — not a fault of your model.</p>
<ul id="goals">${targets}</ul>
<h2>Plots</h2>
${Object.entries(svgs).map(([k, v]) => `<figure id="${k}">${v}</figure>`).join('\n')}
<h2>Per split</h2>
<table><thead><tr><th>k</th><th>first private layer</th><th>t_head</th><th>t_native</th><th>t_tail_public</th><th>t_enclave</th><th>t_enclave p10–p90</th><th>enclave compute</th><th>boundary</th><th>CPU impact</th><th>TEE impact</th><th>end to end</th><th>setup</th><th>private params</th><th>private FLOPs</th><th>sealed tail</th><th>peak RSS</th><th>max abs diff</th><th>labels equal</th></tr></thead>
<tbody>${rows}</tbody></table>
${extraSections.join('\n')}
<h2>What the figures mean</h2>
<dl id="definitions">${FIGURE_DEFINITIONS.map(([k, v]) => `<dt>${escHtml(k)}</dt><dd>${escHtml(v)}</dd>`).join('')}</dl>
<h2>Machine and versions</h2>
<p>${escHtml(r.machine.cpus)} × ${r.machine.cores}, ${(r.machine.memoryBytes / 2 ** 30).toFixed(0)} GiB, ${escHtml(r.machine.platform)}, Node ${escHtml(r.machine.node)}</p>
<p>${Object.entries(r.versions).map(([k, v]) => `${escHtml(k)} ${escHtml(v)}`).join(', ')}</p>
</body></html>
`;
}

/**
 * Writes the report files (report.json, splits.csv, plots as SVG and PNG, report.html) into a
 * temporary folder beside `outDir` and renames it into place (`title` and `lead` sections: see
 * {@link toHtml}), so an interrupted or failed run
 * leaves no half-written report. An existing `outDir` is replaced only after the new one is complete.
 */
export async function writeReport(r: BenchReport, outDir: string, extra: { html?: string[]; files?: Record<string, string | Uint8Array>; title?: string; lead?: string[] } = {}): Promise<string> {
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
    const throughput = toThroughputCsv(r);
    if (throughput) writeFileSync(join(tmp, 'throughput.csv'), throughput);
    writeFileSync(join(tmp, 'report.html'), toHtml(r, svgs, extra.html, { title: extra.title, lead: extra.lead }));
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
  const targets = r.targets.map((t) => `- ${t.met ? 'reached' : '**not reached**'}: ${t.name} ${t.bound}${t.met ? '' : ' — ' + t.rows.filter((x) => !x.met).map((x) => `k=${x.k}: ${x.value.toPrecision(3)} > ${x.limit.toPrecision(3)}`).join('; ')}`);
  return `t_full (the unsplit model in-process) = ${formatMs(r.t_full.median)}; batch ${r.options.batch}; ${r.options.repeat} repeats after ${r.options.warmup} warm-up; engine ${r.options.engine}.\n\n${head}\n${rows.join('\n')}\n\nThe project's performance goals (DESIGN.md), on this machine:\n\n${targets.join('\n')}\n`;
}
