/**
 * A picture of a model's cuts (`enclave-nn inspect --svg|--html`): the layer graph drawn as a
 * layered DAG (longest-path layering, top to bottom), a dashed line across the edges of the cut
 * for each k, and the enclave's part — the last k layers — shaded.
 */
import type { GraphView } from '../onnx/graph.ts';
import { formatShape } from '../onnx/tensor-spec.ts';
import { listCuts } from './cuts.ts';

/** One box: a model input or a layer. */
export interface PictureNode {
  id: string;
  /** The layer's index, or -1 for a model input. */
  layer: number;
  label: string;
  detail: string;
  rank: number;
  x: number;
  y: number;
  w: number;
}

/** The laid-out layer graph and its cuts. */
export interface CutPicture {
  nodes: PictureNode[];
  /** `off`: how far right an edge's control points go (edges skipping rows bulge clear of the boxes between). */
  edges: { from: string; to: string; off: number }[];
  /** Per k (1 … layers): the edges crossing the cut and the tensors they carry. */
  cuts: { k: number; edges: { from: string; to: string }[]; tensors: string[] }[];
  layerCount: number;
  width: number;
  height: number;
}

const ROW = 74;
const BOX_H = 40;
const GAP = 28;
const MARGIN = 24;
const LABEL_W = 260; // room on the right for the cut labels
const charW = 6.8;

/** Lays out the layer graph of `view` (call `view.inferTypes()` first). */
export function layoutCuts(view: GraphView): CutPicture {
  const list = listCuts(view);
  const L = list.layers.length;
  const layerOfNode = new Map<number, number>();
  for (const l of list.layers) for (const i of l.nodes) layerOfNode.set(i, l.index);
  const nodes: PictureNode[] = [];
  const byId = new Map<string, PictureNode>();
  const add = (n: Omit<PictureNode, 'x' | 'y' | 'w'>) => {
    const node = { ...n, x: 0, y: 0, w: Math.max(120, 16 + charW * Math.max(n.label.length, n.detail.length)) };
    nodes.push(node);
    byId.set(n.id, node);
  };
  for (const s of view.inputs) add({ id: `in:${s.name}`, layer: -1, label: s.name, detail: `input ${s.dtype}${formatShape(s.shape)}`, rank: 0 });
  const edges: { from: string; to: string; tensor: string }[] = [];
  for (const l of list.layers) {
    const seen = new Set<string>();
    let rank = 1;
    for (const i of l.nodes) {
      for (const t of view.order[i]!.input) {
        if (!t || view.initializers.has(t) || view.constants.has(t)) continue;
        const p = view.producer.get(t);
        const from = p === undefined ? (byId.has(`in:${t}`) ? `in:${t}` : undefined) : `layer:${layerOfNode.get(p)}`;
        if (!from || from === `layer:${l.index}` || seen.has(`${from} ${t}`)) continue;
        seen.add(`${from} ${t}`);
        edges.push({ from, to: `layer:${l.index}`, tensor: t });
        rank = Math.max(rank, byId.get(from)!.rank + 1);
      }
    }
    const last = view.order[l.nodes[l.nodes.length - 1]!]!;
    const out = view.typeOf(last.output[0] ?? '');
    add({ id: `layer:${l.index}`, layer: l.index, label: l.name, detail: `${l.opTypes.join('+')}${out ? ' → ' + formatShape(out.shape) : ''}`, rank });
  }
  // Positions: one row per rank, boxes left to right in layer order, each row centred.
  const rows = new Map<number, PictureNode[]>();
  for (const n of nodes) rows.set(n.rank, [...(rows.get(n.rank) ?? []), n]);
  const rowWidth = (r: PictureNode[]) => r.reduce((a, n) => a + n.w, 0) + GAP * (r.length - 1);
  const inner = Math.max(...[...rows.values()].map(rowWidth));
  for (const [rank, r] of rows) {
    let x = MARGIN + (inner - rowWidth(r)) / 2;
    for (const n of r) {
      n.x = x;
      n.y = MARGIN + 30 + rank * ROW;
      x += n.w + GAP;
    }
  }
  const cuts = list.cuts.map((c) => {
    const isTail = (id: string) => id.startsWith('layer:') && Number(id.slice(6)) >= L - c.privateLayers;
    const crossing = edges.filter((e) => !isTail(e.from) && isTail(e.to));
    return { k: c.privateLayers, edges: crossing.map(({ from, to }) => ({ from, to })), tensors: c.tensors };
  });
  const maxRank = Math.max(...nodes.map((n) => n.rank));
  // An edge skipping rows bulges right of every box on the rows it passes (a Bézier's midpoint
  // is at 3/4 of its control points' shift).
  let rightmost = MARGIN + inner;
  const laid = edges.map(({ from, to }) => {
    const a = byId.get(from)!, b = byId.get(to)!;
    const between = nodes.filter((n) => n.rank > a.rank && n.rank < b.rank);
    if (between.length === 0) return { from, to, off: 0 };
    const clear = Math.max(...between.map((n) => n.x + n.w)) + 36;
    const off = Math.max(0, (clear - (a.x + a.w / 2 + b.x + b.w / 2) / 2) / 0.75);
    rightmost = Math.max(rightmost, clear + 8);
    return { from, to, off };
  });
  return {
    nodes, edges: laid, cuts, layerCount: L,
    width: rightmost + MARGIN + LABEL_W, height: MARGIN * 2 + 30 + (maxRank + 1) * ROW,
  };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * The picture as SVG: boxes (class `node`, `data-layer`), edges, one dashed line per cut
 * (class `cut`, `data-k`) across the edges it crosses with its label, and the last
 * `privateLayers` layers shaded as the enclave's part (class `private`). `title` is followed by
 * the shaded k.
 */
export function cutPictureSvg(p: CutPicture, o: { title: string; privateLayers: number }): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const offOf = new Map(p.edges.map((e) => [`${e.from} ${e.to}`, e.off]));
  const geom = (e: { from: string; to: string }) => {
    const a = byId.get(e.from)!, b = byId.get(e.to)!;
    return { x1: a.x + a.w / 2, y1: a.y + BOX_H, x2: b.x + b.w / 2, y2: b.y, off: offOf.get(`${e.from} ${e.to}`) ?? 0 };
  };
  // The point at t = 1/2 of the cubic Bézier drawn for the edge.
  const mid = (e: { from: string; to: string }) => {
    const g = geom(e);
    return [(g.x1 + g.x2) / 2 + 0.75 * g.off, (g.y1 + g.y2) / 2] as const;
  };
  // A cut's label sits between the last head layer's row and the first tail layer's row.
  const labelY = (k: number) => {
    const head = p.nodes.find((n) => n.layer === p.layerCount - k - 1) ?? p.nodes.find((n) => n.layer === -1)!;
    const tail = p.nodes.find((n) => n.layer === p.layerCount - k)!;
    return tail.rank > head.rank ? (head.y + BOX_H + tail.y) / 2 : tail.y - 6;
  };
  const right = p.width - 250;
  const W = Math.ceil(Math.max(p.width, MARGIN * 2 + o.title.length * 8.4)); // the bold 14 px title fits
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="cut-picture" width="${W}" height="${p.height}" viewBox="0 0 ${W} ${p.height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="11">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#777"/></marker></defs>',
    `<rect width="${W}" height="${p.height}" fill="white"/>`,
    `<text x="${MARGIN}" y="${MARGIN + 4}" font-size="14" font-weight="bold">${esc(o.title)}<tspan class="shaded-k">${o.privateLayers}</tspan></text>`,
    ...p.edges.map((e) => {
      const { x1, y1, x2, y2, off } = geom(e);
      const dy = (y2 - y1) / 2;
      return `<path class="edge" d="M${x1},${y1} C${x1 + off},${y1 + dy} ${x2 + off},${y2 - dy} ${x2},${y2}" fill="none" stroke="#777" stroke-width="1.3" marker-end="url(#arrow)"/>`;
    }),
    ...p.nodes.map((n) => {
      const priv = n.layer >= p.layerCount - o.privateLayers;
      return `<g class="node${n.layer < 0 ? ' input' : ''}${priv ? ' private' : ''}" data-layer="${n.layer}"><rect x="${n.x}" y="${n.y}" width="${n.w}" height="${BOX_H}" rx="5" fill="${priv ? '#fde2e1' : n.layer < 0 ? '#eef3f8' : '#ffffff'}" stroke="${priv ? '#b00' : '#4e79a7'}" stroke-width="${priv ? 2 : 1.2}"/>`
        + `<text x="${n.x + n.w / 2}" y="${n.y + 16}" text-anchor="middle" font-weight="bold">${esc(n.label)}</text><text x="${n.x + n.w / 2}" y="${n.y + 31}" text-anchor="middle" fill="#555">${esc(n.detail)}</text>`
        + `<title>${esc(`${n.label}: ${n.detail}${priv ? ' (in the enclave)' : ''}`)}</title></g>`;
    }),
    ...p.cuts.map((c) => {
      const pts = c.edges.map(mid).sort((a, b) => a[0] - b[0]);
      if (pts.length === 0) return '';
      const y1 = labelY(c.k);
      const d = [`M${MARGIN / 2},${y1}`, ...pts.map(([x, y]) => `L${x},${y}`), `L${right},${y1}`].join(' ');
      const sel = c.k === o.privateLayers;
      return `<g class="cut${sel ? ' selected' : ''}" data-k="${c.k}"><path d="${d}" fill="none" stroke="${sel ? '#b00' : '#e15759'}" stroke-width="${sel ? 2.5 : 1.2}" stroke-dasharray="6 4" opacity="${sel ? 1 : 0.55}"/>`
        + `<text x="${right + 6}" y="${y1 + 4}" fill="#b00"${sel ? ' font-weight="bold"' : ''}>--private ${c.k}: ${esc(truncate(c.tensors.join(', '), 18))}</text>`
        + `<title>cut for --private ${c.k}: ${esc(c.tensors.join(', '))}</title></g>`;
    }),
    '</svg>',
  ];
  return parts.join('\n');
}

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/**
 * A self-contained HTML page around the SVG, with a control to shade another k (a few lines of
 * inline script; no request leaves the file).
 */
export function cutPictureHtml(p: CutPicture, o: { title: string; privateLayers: number }): string {
  const svg = cutPictureSvg(p, o);
  const options = p.cuts.map((c) => `<option value="${c.k}"${c.k === o.privateLayers ? ' selected' : ''}>--private ${c.k}</option>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(o.title)}${o.privateLayers}</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5em}.cut-picture .node.private rect{fill:#fde2e1;stroke:#b00;stroke-width:2}.cut-picture .node:not(.private):not(.input) rect{fill:#fff;stroke:#4e79a7;stroke-width:1.2}.cut-picture .cut path{stroke:#e15759;stroke-width:1.2;opacity:.55}.cut-picture .cut.selected path{stroke:#b00;stroke-width:2.5;opacity:1}.cut-picture .cut.selected text{font-weight:bold}</style></head>
<body>
<h1>${esc(o.title)}<span class="shaded-k">${o.privateLayers}</span></h1>
<p>Each dashed line is the cut for one <code>--private k</code>: the tensors crossing it go to the enclave. The shaded boxes are the enclave's part (its weights and structure are sealed in the bundle).
Shade: <select id="k">${options}</select></p>
${svg}
<script>
const L = ${p.layerCount};
document.getElementById('k').addEventListener('change', (e) => {
  const k = Number(e.target.value);
  for (const n of document.querySelectorAll('.cut-picture .node')) n.classList.toggle('private', Number(n.dataset.layer) >= L - k);
  for (const c of document.querySelectorAll('.cut-picture .cut')) c.classList.toggle('selected', Number(c.dataset.k) === k);
  for (const t of document.querySelectorAll('.shaded-k')) t.textContent = String(k);
});
</script>
</body></html>
`;
}
