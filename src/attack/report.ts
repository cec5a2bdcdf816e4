/**
 * The attack report (docs/attack.md §6): attack.json, attack.csv, the "protection versus cost"
 * charts (SVG + PNG) and an HTML section added to the bench report — written through the bench's
 * `writeReport`, atomically (temporary folder, then rename).
 * @module
 */
import { basename } from 'node:path';
import { writeReport } from '../report/bench-report.ts';
import { escapeHtml, lines, svgToPng } from '../report/svg-chart.ts';
import type { BenchReport } from '../report/types.ts';
import type { AttackRow, ProtectionReport, SplitProtection } from './types.ts';

/** The CSV columns, in order (one row per split × attacker × query budget). */
export const ATTACK_CSV_COLUMNS = [
  'k', 'first_private_layer', 'cut', 'attacker', 'queries', 'substitute', 'epochs', 'train_seconds', 'victim_accuracy',
  'substitute_accuracy', 'fidelity', 'ratio', 'stolen_accuracy', 'tee_impact', 'enclave_peak_rss_bytes', 'tail_weight_bytes', 'skipped',
  'defence', 'seeds', 'substitute_accuracy_sd', 'substitute_accuracy_min', 'substitute_accuracy_max', 'fidelity_sd', 'relative_to_black_box', 'honest_accuracy', 'query_cap',
] as const;

const cell = (v: unknown): string => {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(+v.toPrecision(6)) : '') : String(v ?? '');
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** attack.csv */
export function attackCsv(r: ProtectionReport): string {
  const out = [ATTACK_CSV_COLUMNS.join(',')];
  for (const s of r.splits) {
    const base = (x: Partial<Omit<AttackRow, 'attacker'>> & { attacker?: string }) => {
      const d = s.defences?.find((y) => y.defence === x.defence);
      return [
        s.k, s.firstPrivateLayer ?? '', s.cut.join(' '), x.attacker ?? '', x.queries ?? '', x.substitute ?? '', x.epochs ?? '', x.trainSeconds ?? '',
        s.victimAccuracy, x.substituteAccuracy ?? '', x.fidelity ?? '', x.ratio ?? '', s.stolenAccuracy, s.teeImpact ?? '', s.enclavePeakRssBytes ?? '', s.tailWeightBytes ?? '', x.skipped ?? '',
        x.defence ?? '', x.perSeed?.map((p) => p.seed).join(' ') ?? '', x.substituteAccuracySd ?? '', x.accuracyRange?.[0] ?? '', x.accuracyRange?.[1] ?? '', x.fidelitySd ?? '',
        x.relativeToBlackBox ?? '', d?.honestAccuracy ?? '', d?.queryCap === undefined ? '' : d.queryCap === null ? 'none' : d.queryCap,
      ].map(cell).join(',');
    };
    if (s.rows.length === 0) out.push(base({ attacker: 'public', substitute: 'the model itself (k = 0)', substituteAccuracy: s.victimAccuracy, fidelity: 1, ratio: 1 }));
    for (const row of s.rows) out.push(base(row));
  }
  return out.join('\n') + '\n';
}

const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : `${(v * 100).toFixed(1)}%`);
const ratio = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(2));
const mib = (b: number | undefined) => (b === undefined ? '-' : `${(b / 2 ** 20).toFixed(0)} MiB`);

/** The per-split summary rows: k, first private layer, victim, best stolen at each Q, cost. */
function summaryRows(r: ProtectionReport): string[][] {
  return r.splits.map((s) => [
    String(s.k), s.firstPrivateLayer ?? '(all public)', pct(s.victimAccuracy),
    ...r.options.queries.map((q) => {
      const best = bestAt(s, q);
      return s.k === 0 ? pct(s.victimAccuracy) : best ? `${pct(best.substituteAccuracy)}${pm(best)} (${LETTER[best.attacker] ?? best.attacker}, fid ${pct(best.fidelity)})` : '-';
    }),
    ratio(s.teeImpact), mib(s.enclavePeakRssBytes),
  ]);
}

/** The best querying attacker's row at budget q under `defence` (default: the first evaluated). */
function bestAt(s: SplitProtection, q: number, defence = s.defences?.[0]?.defence) {
  return s.rows.filter((x) => x.queries === q && !x.skipped && x.attacker !== 'own-data' && (defence === undefined || x.defence === defence))
    .sort((a, b) => b.substituteAccuracy - a.substituteAccuracy)[0];
}

const LETTER: Record<string, string> = { generic: 'G', architecture: 'A', pretrained: 'P', 'own-data': 'O' };
const pm = (x: AttackRow) => (x.substituteAccuracySd && x.perSeed && x.perSeed.length > 1 ? ` ± ${(x.substituteAccuracySd * 100).toFixed(1)}` : '');
const capText = (c: number | null | undefined) => (c === undefined ? '-' : c === null ? 'none' : String(c));

/** Rows of the defence table: split × defence × Q → stolen (mean ± sd, best querying attacker), fidelity, ×black-box; honest accuracy and distortion; own-data baseline; query cap. */
function defenceRows(r: ProtectionReport): string[][] {
  const out: string[][] = [];
  for (const s of r.splits) {
    for (const d of s.defences ?? []) {
      for (const q of r.options.queries) {
        const best = bestAt(s, q, d.defence);
        const own = s.rows.find((x) => x.attacker === 'own-data' && x.queries === q && !x.skipped);
        out.push([
          String(s.k), d.defence, String(q),
          best ? `${pct(best.substituteAccuracy)}${pm(best)} (${LETTER[best.attacker] ?? best.attacker})` : '-',
          best ? pct(best.fidelity) : '-', best ? ratio(best.relativeToBlackBox) : '-',
          own ? `${pct(own.substituteAccuracy)}${pm(own)}` : '-',
          pct(d.honestAccuracy), Number.isFinite(d.honestDistortion) ? d.honestDistortion.toFixed(3) : '-', capText(d.queryCap),
        ]);
      }
    }
  }
  return out;
}
const DEFENCE_HEAD = ['k', 'defence', 'Q', 'stolen acc. (mean ± sd)', 'fidelity', '× black-box', 'own-data baseline', 'honest acc.', 'honest distortion', 'query cap'];

function summaryHead(r: ProtectionReport): string[] {
  return ['k', 'first private layer', 'victim acc.', ...r.options.queries.map((q) => `stolen @Q=${q}`), 'TEE impact', 'enclave RSS'];
}

/** The recommendation as one sentence. */
export function recommendationText(r: ProtectionReport): string {
  const rec = r.recommendation;
  if (!rec) return 'No target given (--max-stolen-accuracy): no recommendation.';
  const caps = rec.queryCaps?.length ? ` License query caps (largest evaluated Q with every attacker's worst seed ≤ ${pct(rec.maxStolenAccuracy)}, under '${rec.queryCaps[0]!.defence}'): ${rec.queryCaps.map((c) => `k=${c.k}: ${capText(c.cap)}`).join(', ')}.` : '';
  if (rec.k === null) return `No evaluated split keeps the stolen accuracy at or below ${pct(rec.maxStolenAccuracy)}: none is recommended.${caps}`;
  const s = r.splits.find((x) => x.k === rec.k)!;
  return `Recommended split: k = ${rec.k} (first private layer ${s.firstPrivateLayer ?? '-'}): stolen accuracy ${pct(s.stolenAccuracy)} ≤ ${pct(rec.maxStolenAccuracy)} at Q = ${Math.max(...r.options.queries)}, TEE impact ${ratio(s.teeImpact)} — ${rec.rule}.${caps}`;
}

/** The terminal table. */
export function attackTable(r: ProtectionReport): string {
  const all = [summaryHead(r), ...summaryRows(r)];
  const w = all[0]!.map((_, i) => Math.max(...all.map((x) => x[i]!.length)));
  return `${all.map((x) => x.map((c, i) => c.padEnd(w[i]!)).join('  ')).join('\n')}\n(G = generic substitute, A = true architecture revealed by the evaluator, P = public pretrained start; fid = fidelity)\n${recommendationText(r)}\n`;
}

/** Markdown tables: the summary and every (split, attacker, Q) row. */
export function attackMarkdown(r: ProtectionReport): string {
  const md = (rows: string[][]) => rows.map((x) => `| ${x.join(' | ')} |`).join('\n');
  const head = summaryHead(r);
  const detailHead = ['k', 'defence', 'attacker', 'Q', 'substitute', 'epochs', 'train s', 'victim acc.', 'substitute acc.', 'min–max', 'fidelity', 'ratio', '× black-box'];
  const detail = r.splits.flatMap((s) => s.rows.map((x) => [
    String(s.k), x.defence ?? r.options.mode, x.attacker, String(x.queries), x.skipped ? `skipped: ${x.skipped}` : x.substitute, (+x.epochs.toFixed(1)).toString(), x.trainSeconds.toFixed(1),
    pct(s.victimAccuracy), `${pct(x.substituteAccuracy)}${pm(x)}`, x.accuracyRange ? `${pct(x.accuracyRange[0])}–${pct(x.accuracyRange[1])}` : '-', pct(x.fidelity), ratio(x.ratio), ratio(x.relativeToBlackBox),
  ]));
  const defences = defenceRows(r);
  return [
    md([head, head.map(() => '---')]) + '\n' + md(summaryRows(r)),
    '',
    recommendationText(r),
    '',
    ...(defences.length ? [md([DEFENCE_HEAD, DEFENCE_HEAD.map(() => '---')]) + '\n' + md(defences), ''] : []),
    md([detailHead, detailHead.map(() => '---')]) + '\n' + md(detail),
  ].join('\n') + '\n';
}

const esc = escapeHtml;

/** The charts as SVG: stolen accuracy per split for each Q (with victim and target), and TEE impact per split. */
export function attackCharts(r: ProtectionReport): Record<string, string> {
  // Each split's cost in its label: k and its TEE impact.
  const cats = r.splits.map((s) => (s.k === 0 ? 'k=0' : `k=${s.k} ${s.teeImpact !== undefined && Number.isFinite(s.teeImpact) ? `(${+s.teeImpact.toPrecision(2)}x)` : ''}`.trim()));
  const palette = ['#f28e2b', '#e15759', '#b07aa1', '#76b7b2', '#59a14f'];
  const refs = r.recommendation ? [{ name: `target ${pct(r.recommendation.maxStolenAccuracy)}`, value: r.recommendation.maxStolenAccuracy, color: '#e15759', dashed: true }] : [];
  return {
    'protection-vs-cost': lines({
      title: 'Protection versus cost per split (k = private layers, TEE impact)', categories: cats, width: Math.max(760, 260 + 95 * cats.length), yLabel: 'test accuracy (stolen: best attacker)',
      series: [
        { name: 'victim accuracy', color: '#333', values: r.splits.map((s) => s.victimAccuracy) },
        ...r.options.queries.map((q, i) => ({ name: `stolen, Q=${q}`, color: palette[i % palette.length]!, values: r.splits.map((s) => (s.k === 0 ? s.victimAccuracy : bestAt(s, q)?.substituteAccuracy ?? NaN)) })),
      ],
      references: [...refs, { name: `chance 1/${r.classes}`, value: 1 / r.classes, color: '#999', dashed: true }],
    }),
    'cost-per-split': lines({
      title: 'Cost per split: TEE impact (enclave / native time)', categories: cats, yLabel: 'ratio',
      series: [{ name: 'TEE impact', color: '#4e79a7', values: r.splits.map((s) => s.teeImpact ?? NaN) }],
      references: [{ name: 'ratio 1', value: 1, color: '#999', dashed: true }],
    }),
    ...defenceChart(r, refs),
  };
}

/**
 * Protection versus cost per defence (written when more than one defence was evaluated): per
 * output policy, the stolen accuracy at the largest Q for each split (protection: lower is
 * better) beside what the policy costs honest users — their top-1 accuracy and the distortion of
 * their answers (0 = full probabilities).
 */
function defenceChart(r: ProtectionReport, refs: { name: string; value: number; color: string; dashed: boolean }[]): Record<string, string> {
  const defences = r.options.defences ?? [];
  const attacked = r.splits.filter((s) => s.k > 0 && s.defences?.length);
  if (defences.length < 2 || attacked.length === 0) return {};
  const qMax = Math.max(...r.options.queries);
  const palette = ['#e15759', '#f28e2b', '#b07aa1', '#76b7b2', '#edc948', '#9c755f'];
  const per = (s: SplitProtection, f: (d: NonNullable<SplitProtection['defences']>[number]) => number) => defences.map((name) => {
    const d = s.defences!.find((x) => x.defence === name);
    return d ? f(d) : NaN;
  });
  const first = attacked[0]!;
  return {
    'protection-vs-cost-per-defence': lines({
      title: `Protection versus cost per defence (stolen at Q=${qMax}; honest users' accuracy and distortion)`, categories: defences,
      width: Math.max(760, 260 + 140 * defences.length), yLabel: 'accuracy / distortion',
      series: [
        ...attacked.map((s, i) => ({ name: `stolen, k=${s.k}`, color: palette[i % palette.length]!, values: per(s, (d) => d.stolenAccuracy) })),
        { name: 'honest accuracy', color: '#333', values: per(first, (d) => d.honestAccuracy) },
        { name: 'honest distortion (cost)', color: '#4e79a7', values: per(first, (d) => d.honestDistortion) },
      ],
      // The no-query baseline does not depend on the defence: a dashed line per split.
      references: [...refs, ...attacked.flatMap((s, i) => (s.ownDataAccuracy === undefined ? [] : [{ name: `own-data baseline, k=${s.k}`, value: s.ownDataAccuracy, color: palette[i % palette.length]!, dashed: true }]))],
    }),
  };
}

/** The attack's section: the result first (the recommendation), then the charts, the table, the method. */
export function attackHtml(r: ProtectionReport, svgs: Record<string, string>): string {
  const head = summaryHead(r);
  return `<h2>Protection against model stealing: the result</h2>
<p id="attack-result" style="font-size:1.3em"><b>${esc(recommendationText(r))}</b></p>
${Object.entries(svgs).map(([k, v]) => `<figure id="${k}">${v}</figure>`).join('\n')}
<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>
<tbody>${summaryRows(r).map((x) => `<tr>${x.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n')}</tbody></table>
<p>Command: <code>${esc(r.command)}</code>. Attacker inputs: ${r.options.dataRows} rows (${esc(r.options.querySource ?? 'in-distribution')}); test set: ${r.options.testRows} labelled rows; answers: <b>${r.options.mode}</b>; seed ${r.options.seed}; training budget ${r.options.trainPasses} sample passes; took ${(r.durationMs / 1000).toFixed(0)} s (CPU time ${r.cpuSeconds.toFixed(0)} s).
The generic attacker (G) knows only the public head and the cut's shape; the architecture attacker (A) is told the tail's true architecture by the evaluator (an upper bound). See docs/attack.md.</p>
<h2>The cost of each split (bench)</h2>`;
}

/**
 * Writes the bench report extended with the attack section and files (attack.json, attack.csv,
 * attack.md, protection-vs-cost.svg/png, cost-per-split.svg/png) into `outDir`, atomically.
 * Returns the path of report.html.
 */
export async function writeAttackReport(r: ProtectionReport, bench: BenchReport, outDir: string): Promise<string> {
  const svgs = attackCharts(r);
  const files: Record<string, string | Uint8Array> = {
    'attack.json': JSON.stringify(r, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n',
    'attack.csv': attackCsv(r),
    'attack.md': attackMarkdown(r),
  };
  for (const [name, svg] of Object.entries(svgs)) {
    files[`${name}.svg`] = svg;
    files[`${name}.png`] = await svgToPng(svg);
  }
  // Titled as the attack report, its result first; the bench measurements (the cost) follow.
  return writeReport(bench, outDir, { lead: [attackHtml(r, svgs)], files, title: `enclave-nn attack: ${basename(r.model)}` });
}
