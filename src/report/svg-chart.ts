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
  width?: number;
  height?: number;
}

/** Escapes text for HTML and SVG: `&`, `<`, `>`. */
export const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const esc = escapeHtml;

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function frame(o: ChartOptions, yMax: number, body: (x: (i: number) => number, bw: number, y: (v: number) => number) => string): string {
  const W = o.width ?? 760;
  const H = o.height ?? 360;
  const L = 70, R = 170, T = 40, B = 50;
  const pw = W - L - R, ph = H - T - B;
  const n = o.categories.length;
  const step = pw / Math.max(n, 1);
  const x = (i: number) => L + step * i + step / 2;
  const y = (v: number) => T + ph - (Math.min(v, yMax) / yMax) * ph;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * yMax);
  const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(2));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - R / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(o.title)}</text>`,
    ...ticks.map((t) => `<line x1="${L}" x2="${L + pw}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${L - 6}" y="${y(t) + 4}" text-anchor="end">${fmt(t)}</text>`),
    `<text transform="translate(16 ${T + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`,
    ...o.categories.map((c, i) => `<text x="${x(i)}" y="${T + ph + 16}" text-anchor="middle">${esc(c)}</text>`),
    body(x, step * 0.6, y),
    ...(o.references ?? []).map((r) => `<line x1="${L}" x2="${L + pw}" y1="${y(r.value)}" y2="${y(r.value)}" stroke="${r.color}" stroke-width="2"${r.dashed ? ' stroke-dasharray="6 4"' : ''}/>`),
    `<line x1="${L}" x2="${L}" y1="${T}" y2="${T + ph}" stroke="#333"/><line x1="${L}" x2="${L + pw}" y1="${T + ph}" y2="${T + ph}" stroke="#333"/>`,
  ];
  const legend = [...o.series.map((s) => ({ name: s.name, color: s.color, dashed: false })), ...(o.references ?? []).map((r) => ({ name: r.name, color: r.color, dashed: !!r.dashed }))];
  legend.forEach((l, i) => {
    const ly = T + 10 + i * 18;
    parts.push(`<rect x="${W - R + 14}" y="${ly - 9}" width="14" height="10" fill="${l.color}"${l.dashed ? ' opacity="0.6"' : ''}/><text x="${W - R + 34}" y="${ly}">${esc(l.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Stacked bars: one bar per category, one segment per series. */
export function stackedBars(o: ChartOptions): string {
  const totals = o.categories.map((_, i) => o.series.reduce((a, s) => a + (Number.isFinite(s.values[i]) ? s.values[i]! : 0), 0));
  const yMax = niceMax(Math.max(...totals, ...(o.references ?? []).map((r) => r.value)) * 1.05);
  return frame(o, yMax, (x, bw, y) => o.categories.map((_, i) => {
    let base = 0;
    return o.series.map((s) => {
      const v = Number.isFinite(s.values[i]) ? s.values[i]! : 0;
      const r = `<rect x="${x(i) - bw / 2}" y="${y(base + v)}" width="${bw}" height="${Math.max(0, y(base) - y(base + v))}" fill="${s.color}"><title>${esc(s.name)}: ${v.toPrecision(3)}</title></rect>`;
      base += v;
      return r;
    }).join('');
  }).join('\n'));
}

/** Lines with points: one line per series. Non-finite values are gaps. */
export function lines(o: ChartOptions): string {
  const all = o.series.flatMap((s) => s.values.filter(Number.isFinite));
  const yMax = niceMax(Math.max(...all, ...(o.references ?? []).map((r) => r.value), 0) * 1.1);
  return frame(o, yMax, (x, _bw, y) => o.series.map((s) => {
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
