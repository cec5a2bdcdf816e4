/**
 * Dependency-free SVG charts for the bench report: stacked bars (with an optional reference
 * line) and line charts (with optional target lines). Text uses a generic sans-serif font so the
 * PNG rasterizer finds one on any machine.
 */

export interface Series {
  name: string;
  color: string;
  values: number[];
}

export interface ChartOptions {
  title: string;
  /** One label per bar/point, e.g. 'k=3'. */
  categories: string[];
  series: Series[];
  yLabel: string;
  /** Horizontal reference lines, e.g. the all-public time or a target ratio. */
  references?: { name: string; value: number; color: string; dashed?: boolean }[];
  /** Error bars per category (e.g. p10–p90 of the bar's total), named in the legend. */
  whiskers?: { name: string; lo: number[]; hi: number[] };
  /**
   * The y scale. `'auto'` takes a log scale when one value dwarfs the rest (the largest over the
   * smallest positive one > 30), so that small splits stay readable. @defaultValue 'linear'
   */
  scale?: 'linear' | 'log' | 'auto';
  /** The whole chart's width; at least what the plot and the legend need. */
  width?: number;
  height?: number;
}

/** Escapes text for HTML and SVG: `&`, `<`, `>`. */
export const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const esc = escapeHtml;

/** Linear axis ticks from 0: a step of 1, 2, 2.5 or 5 × 10^n, about five ticks, the last ≥ `max`. */
export function niceTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((st) => st >= raw)!;
  const n = Math.ceil(max / step - 1e-9);
  return Array.from({ length: n + 1 }, (_, i) => +(i * step).toPrecision(12));
}

/** Log axis ticks: the powers of ten from below `min` to above `max`. */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(max)));
  return Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
}

/** Chooses the scale for positive values: log when asked, or on 'auto' when max / min > 30. */
function useLog(o: ChartOptions, values: number[]): boolean {
  const pos = values.filter((v) => Number.isFinite(v) && v > 0);
  if (o.scale === 'log') return pos.length > 0;
  return o.scale === 'auto' && pos.length > 1 && Math.max(...pos) / Math.min(...pos) > 30;
}

const tickText = (v: number) => (v === 0 ? '0' : Math.abs(v) >= 1000 ? v.toLocaleString('en-US') : +v.toPrecision(3) + '');
/** Legend text width estimate at font size 11 (DejaVu Sans averages ~6.6 px per character). */
const textWidth = (t: string) => t.length * 6.6;

function frame(o: ChartOptions, values: number[], body: (x: (i: number) => number, bw: number, y: (v: number) => number, bottom: number) => string): string {
  const legend = [
    ...o.series.map((s) => ({ name: s.name, color: s.color, kind: 'box' })),
    ...(o.whiskers ? [{ name: o.whiskers.name, color: '#333', kind: 'whisker' }] : []),
    ...(o.references ?? []).map((r) => ({ name: r.name, color: r.color, kind: r.dashed ? 'dash' : 'line' })),
  ];
  const L = 70, T = 40, B = 50;
  // The legend sits right of the plot; its column is as wide as its longest entry.
  const R = Math.ceil(Math.max(120, 44 + Math.max(0, ...legend.map((l) => textWidth(l.name)))));
  const W = Math.max(o.width ?? 760, L + 320 + R);
  const H = Math.max(o.height ?? 360, T + B + 20 + legend.length * 18);
  const pw = W - L - R, ph = H - T - B;
  const n = o.categories.length;
  const step = pw / Math.max(n, 1);
  const x = (i: number) => L + step * i + step / 2;
  const log = useLog(o, values);
  const pos = values.filter((v) => Number.isFinite(v) && v > 0);
  const ticks = log ? logTicks(Math.min(...pos), Math.max(...pos)) : niceTicks(Math.max(0, ...values.filter(Number.isFinite)));
  const lo = ticks[0]!, hi = ticks[ticks.length - 1]!;
  const y = log
    ? (v: number) => T + ph - ((Math.log10(Math.min(Math.max(v, lo), hi)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * ph
    : (v: number) => T + ph - (Math.min(v, hi) / hi) * ph;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L + pw / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(o.title)}</text>`,
    ...ticks.map((t) => `<line x1="${L}" x2="${L + pw}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text class="tick" x="${L - 6}" y="${y(t) + 4}" text-anchor="end">${tickText(t)}</text>`),
    `<text transform="translate(16 ${T + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel + (log ? ' (log scale)' : ''))}</text>`,
    ...o.categories.map((c, i) => `<text x="${x(i)}" y="${T + ph + 16}" text-anchor="middle">${esc(c)}</text>`),
    body(x, step * 0.6, y, y(lo)),
    ...(o.whiskers ? o.categories.map((_, i) => {
      const a = o.whiskers!.lo[i]!, b = o.whiskers!.hi[i]!;
      if (!Number.isFinite(a) || !Number.isFinite(b) || (log && !(a > 0))) return '';
      const cx = x(i), w = Math.min(10, step * 0.15);
      return `<g class="whisker" stroke="#333" stroke-width="1.2"><line x1="${cx}" x2="${cx}" y1="${y(a)}" y2="${y(b)}"/><line x1="${cx - w}" x2="${cx + w}" y1="${y(a)}" y2="${y(a)}"/><line x1="${cx - w}" x2="${cx + w}" y1="${y(b)}" y2="${y(b)}"/><title>${esc(o.whiskers!.name)}: ${a.toPrecision(3)}–${b.toPrecision(3)}</title></g>`;
    }) : []),
    ...(o.references ?? []).map((r) => `<line x1="${L}" x2="${L + pw}" y1="${y(r.value)}" y2="${y(r.value)}" stroke="${r.color}" stroke-width="2"${r.dashed ? ' stroke-dasharray="6 4"' : ''}/>`),
    `<line x1="${L}" x2="${L}" y1="${T}" y2="${T + ph}" stroke="#333"/><line x1="${L}" x2="${L + pw}" y1="${T + ph}" y2="${T + ph}" stroke="#333"/>`,
  ];
  parts.push('<g class="legend">');
  legend.forEach((l, i) => {
    const ly = T + 10 + i * 18;
    const lx = W - R + 14;
    const mark = l.kind === 'box' ? `<rect x="${lx}" y="${ly - 9}" width="14" height="10" fill="${l.color}"/>`
      : l.kind === 'whisker' ? `<line x1="${lx + 7}" x2="${lx + 7}" y1="${ly - 10}" y2="${ly + 1}" stroke="${l.color}"/><line x1="${lx + 3}" x2="${lx + 11}" y1="${ly - 10}" y2="${ly - 10}" stroke="${l.color}"/><line x1="${lx + 3}" x2="${lx + 11}" y1="${ly + 1}" y2="${ly + 1}" stroke="${l.color}"/>`
        : `<line x1="${lx}" x2="${lx + 14}" y1="${ly - 4}" y2="${ly - 4}" stroke="${l.color}" stroke-width="2"${l.kind === 'dash' ? ' stroke-dasharray="4 2"' : ''}/>`;
    parts.push(`${mark}<text x="${lx + 20}" y="${ly}">${esc(l.name)}</text>`);
  });
  parts.push('</g>', '</svg>');
  return parts.join('\n');
}

/** Stacked bars: one bar per category, one segment per series. */
export function stackedBars(o: ChartOptions): string {
  const totals = o.categories.map((_, i) => o.series.reduce((a, s) => a + (Number.isFinite(s.values[i]) ? s.values[i]! : 0), 0));
  const values = [...totals, ...(o.references ?? []).map((r) => r.value), ...(o.whiskers?.hi ?? [])];
  return frame(o, values, (x, bw, y, bottom) => o.categories.map((_, i) => {
    let base = 0;
    return o.series.map((s) => {
      const v = Number.isFinite(s.values[i]) ? s.values[i]! : 0;
      const top = y(base + v);
      const from = base === 0 ? bottom : y(base);
      const r = `<rect x="${x(i) - bw / 2}" y="${top}" width="${bw}" height="${Math.max(0, from - top)}" fill="${s.color}"><title>${esc(s.name)}: ${v.toPrecision(3)}</title></rect>`;
      base += v;
      return r;
    }).join('');
  }).join('\n'));
}

/** Lines with points: one line per series. Non-finite values are gaps. */
export function lines(o: ChartOptions): string {
  const all = o.series.flatMap((s) => s.values.filter(Number.isFinite));
  return frame(o, [...all, ...(o.references ?? []).map((r) => r.value), 0], (x, _bw, y) => o.series.map((s) => {
    const pts = s.values.map((v, i) => (Number.isFinite(v) ? [x(i), y(v)] : null));
    const path = pts.map((p, i) => (p ? `${i === 0 || !pts[i - 1] ? 'M' : 'L'}${p[0]!.toFixed(1)},${p[1]!.toFixed(1)}` : '')).join(' ');
    return `<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>` + pts.map((p, i) => (p ? `<circle cx="${p[0]}" cy="${p[1]}" r="3.5" fill="${s.color}"><title>${esc(s.name)}: ${s.values[i]!.toPrecision(3)}</title></circle>` : '')).join('');
  }).join('\n'));
}

/** Rasterizes an SVG to PNG with resvg (system fonts). */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  const { Resvg } = await import('@resvg/resvg-js');
  return new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: 'white' }).render().asPng();
}
