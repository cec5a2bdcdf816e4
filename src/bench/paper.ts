import { formatMs } from '../report/stats.ts';
import type { BenchReport } from '../report/types.ts';

/**
 * The eNNclave paper's published medians (Schlögl & Böhme, AISec 2020), for side-by-side
 * comparison. The machines differ, so reports compare ratios (enclave / native), not times.
 */
export interface PaperFigure {
  /** Layers in the enclave. */
  k: number;
  enclaveMs: number;
  nativeMs: number;
  note?: string;
}

/** Paper figures by model; the enclave setup was 0.78 s for every inference in all of them. */
export const PAPER: Record<string, { title: string; figures: PaperFigure[]; tensorflowMs?: number }> = {
  mnist: { title: 'MNIST CNN', figures: [{ k: 1, enclaveMs: 1.06, nativeMs: 0.063 }, { k: 3, enclaveMs: 119, nativeMs: 11.8 }] },
  imdb: { title: 'IMDB (TF-IDF MLP)', figures: [{ k: 3, enclaveMs: 94.8, nativeMs: 8.0 }] },
  'rt-polarity': { title: 'Rotten Tomatoes sepCNN', figures: [{ k: 4, enclaveMs: 6.6, nativeMs: 2.7 }] },
  'vgg16-gap': {
    title: 'VGG16-GAP (MIT67)',
    figures: [{ k: 3, enclaveMs: 399, nativeMs: 54.8 }, { k: 24, enclaveMs: 124_500, nativeMs: 90_500, note: 'all layers; TensorFlow ran the whole model in 74 ms' }],
    tensorflowMs: 74,
  },
};

/** The paper's per-inference enclave setup (created and destroyed for every inference). */
export const PAPER_SETUP_MS = 780;

const ratio = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : '-');

/** Markdown: our run beside the paper's figures, as ratios. */
export function paperComparison(model: string, r: BenchReport): string {
  const paper = PAPER[model];
  if (!paper) return '';
  const rows = paper.figures.map((f) => {
    const ours = r.splits.find((s) => s.k === f.k) ?? (f.k > r.layers.length ? r.splits[r.splits.length - 1] : undefined);
    const oursText = ours ? `k=${ours.k}: ${formatMs(ours.t_enclave.median)} / ${formatMs(ours.t_native.median)} = **${ratio(ours.tee_impact)}**` : 'not measured';
    return `| ${f.k}${f.note ? ` (${f.note})` : ''} | ${formatMs(f.enclaveMs)} / ${formatMs(f.nativeMs)} = ${ratio(f.enclaveMs / f.nativeMs)} | ${oursText} |`;
  });
  const setups = r.splits.filter((s) => s.k > 0).map((s) => s.setup.ready_total).sort((a, b) => a - b);
  const setupMedian = setups.length ? setups[Math.floor(setups.length / 2)]! : NaN;
  const cpu = r.splits.filter((s) => s.k > 0).map((s) => s.cpu_impact);
  const lines = [
    `| layers in the enclave | paper: enclave / native (TEE impact) | this run: enclave / native (TEE impact) |`,
    `| --- | --- | --- |`,
    ...rows,
    '',
    `Enclave setup: paper ${formatMs(PAPER_SETUP_MS)} **for every inference**; this run ${formatMs(setupMedian)} (median over splits) **once per session**, then every inference reuses the enclave.`,
  ];
  if (paper.tensorflowMs) {
    const all = paper.figures[paper.figures.length - 1]!;
    lines.push('', `CPU impact: the paper's hand-written C kernels ran the whole model in ${formatMs(all.nativeMs)} where TensorFlow took ${formatMs(paper.tensorflowMs)} (${ratio(all.nativeMs / paper.tensorflowMs)}); here the enclave runs the same engine as the public runtime: CPU impact ${cpu.length ? `${Math.min(...cpu).toFixed(2)}–${Math.max(...cpu).toFixed(2)}×` : '-'} over the splits.`);
  } else if (cpu.length) {
    lines.push('', `CPU impact (native / public runtime, same engine): ${Math.min(...cpu).toFixed(2)}–${Math.max(...cpu).toFixed(2)}× over the splits.`);
  }
  return lines.join('\n') + '\n';
}
