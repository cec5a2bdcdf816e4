/**
 * The bench report (docs/bench.md): its format, statistics, tables, SVG/PNG charts and the
 * atomic report folder; the attack report adds its section through `writeReport`.
 *
 * @example
 * ```ts
 * const html = await writeReport(report, 'out/bench/mnist');
 * ```
 * @module
 */
export type { BenchReport, SplitMeasurement, TargetCheck } from './types.ts';
export { formatMs, nowMs, summarize, type Stat } from './stats.ts';
export { toCsv, toHtml, toMarkdown, toTable, toThroughputCsv, writeReport, plots } from './bench-report.ts';
export { escapeHtml, lines, stackedBars, svgToPng, type ChartOptions, type Series } from './svg-chart.ts';
