import { formatMs, middleValue } from '../report/stats.ts';
import type { BenchReport } from '../report/types.ts';

/**
 * The eNNclave experiments' own timings (Schlögl & Böhme, AISec 2020), for side-by-side
 * comparison. Source: uibk-iNNference/eNNclave-experiments at commit e506fad, the archived CPU
 * logs `timing_logs/archived/<model>_times_cpu.csv` (one row per inference: `tf_time` = the public
 * head in TensorFlow, `enclave_time` = the tail in the SGX enclave with the framework's C kernels,
 * `native_time` = the same C kernels outside the enclave, `layers_in_enclave` = k). Each figure
 * below is the median over that file's rows for one k, in milliseconds (`runs` rows per k). Every
 * inference there created and destroyed an enclave (0.78 s setup, not in `enclave_time`).
 *
 * Three of these models are the paper's timing table (MIT67 as VGG16-GAP, Flowers, Amazon); the
 * other three appear only in the authors' talk. The machines differ, so reports compare ratios.
 */
export interface PaperModel {
  /** the model as the reports name it */
  title: string;
  /** where the authors showed it */
  shownIn: string;
  /** the archived log in the experiments repository */
  source: string;
  /** rows per k in that log */
  runs: number;
  /** per k (layers in the enclave): [k, tf_time, enclave_time, native_time] medians, ms */
  rows: Array<[number, number, number, number]>;
}

/** One k's figures, derived from a {@link PaperModel} row. */
export interface PaperFigure {
  /** layers in the enclave */
  k: number;
  /** median enclave_time, ms */
  enclaveMs: number;
  /** median native_time, ms */
  nativeMs: number;
  /** TEE impact: enclave_time / native_time (NaN at k = 0) */
  teeImpact: number;
  /** CPU impact of the experiments' pipeline: (tf_time_k + native_time_k) / tf_time_0 */
  cpuImpact: number;
}

/** The experiments' medians by model (the keys are the example names of scripts/reproduce.ts). */
export const PAPER: Record<string, PaperModel> = {
  'vgg16-gap': {
    title: 'VGG16-GAP (MIT67)', shownIn: "the paper's table", source: 'timing_logs/archived/mit_times_cpu.csv', runs: 20,
    rows: [
      [0, 74.05, 0, 0], [1, 73.99, 11.43, 0.7042], [2, 73.24, 11.46, 0.6968], [3, 72.82, 399.3, 54.82],
      [4, 72.91, 391.7, 53.39], [5, 72.25, 460.3, 58.18], [6, 72.27, 465.1, 59.58], [7, 72.29, 471.5, 58.74],
      [8, 69.75, 4117, 2651], [9, 67.26, 7773, 5245], [10, 65.02, 1.142e+04, 7834],
      [11, 64.62, 1.143e+04, 7836], [12, 57.69, 2.62e+04, 1.857e+04], [13, 52.22, 4.094e+04, 2.929e+04],
      [14, 48.46, 4.83e+04, 3.465e+04], [15, 47.93, 4.832e+04, 3.464e+04], [16, 41.58, 6.326e+04, 4.559e+04],
      [17, 35.79, 7.822e+04, 5.652e+04], [18, 31.69, 8.569e+04, 6.2e+04], [19, 30.93, 8.574e+04, 6.199e+04],
      [20, 23.3, 1.008e+05, 7.312e+04], [21, 18.77, 1.084e+05, 7.87e+04], [22, 16.92, 1.085e+05, 7.873e+04],
      [23, 7.147, 1.238e+05, 9.001e+04], [24, 24.25, 1.245e+05, 9.052e+04],
    ],
  },
  'flowers': {
    title: 'Flowers (VGG19 → Flatten → Dense)', shownIn: "the paper's table", source: 'timing_logs/archived/flowers_times_cpu.csv', runs: 20,
    rows: [
      [0, 91.92, 0, 0], [1, 91.45, 1.011, 0.05078], [2, 91.44, 35.93, 2.092], [3, 91.14, 76.07, 4.664],
      [4, 86.22, 1627, 167.7], [5, 86.11, 1629, 167.6], [6, 86.12, 1632, 170.1], [7, 83.76, 5277, 2693],
      [8, 82.11, 8931, 5219], [9, 79.74, 1.259e+04, 7745], [10, 77.85, 1.623e+04, 1.027e+04],
      [11, 77.52, 1.624e+04, 1.027e+04], [12, 72.42, 3.099e+04, 2.071e+04],
      [13, 66.86, 4.576e+04, 3.116e+04], [14, 61.33, 6.051e+04, 4.16e+04], [15, 57.99, 6.788e+04, 4.683e+04],
      [16, 57.54, 6.789e+04, 4.682e+04], [17, 52.33, 8.285e+04, 5.746e+04],
      [18, 46.95, 9.782e+04, 6.809e+04], [19, 41.69, 1.128e+05, 7.873e+04],
      [20, 38.44, 1.202e+05, 8.405e+04], [21, 37.71, 1.202e+05, 8.405e+04],
      [22, 31.66, 1.354e+05, 9.484e+04], [23, 27.55, 1.43e+05, 1.002e+05], [24, 25.78, 1.43e+05, 1.002e+05],
      [25, 17.69, 1.583e+05, 1.112e+05], [26, 243.1, 1.591e+05, 1.117e+05],
    ],
  },
  'amazon': {
    title: 'Amazon (sepCNN star regression)', shownIn: "the paper's table", source: 'timing_logs/archived/amazon_times_cpu.csv', runs: 20,
    rows: [
      [0, 18.33, 0, 0], [1, 18.21, 0.7616, 0.04232], [2, 17.95, 2.749, 0.126], [3, 17.8, 2.729, 0.124],
      [4, 17.6, 9.526, 0.4742], [5, 17.49, 9.509, 0.4748], [6, 16.15, 368.6, 34.88],
      [7, 15.95, 368.5, 34.65], [8, 15.79, 368.7, 34.75], [9, 15.18, 440.9, 76.14],
      [10, 15.03, 440.2, 76.26], [11, 14.45, 511.4, 118.2], [12, 14.58, 512, 118.4],
      [13, 13.7, 547.6, 139.8], [14, 13.44, 547.3, 139.3], [15, 1.06, 564.1, 149.8],
    ],
  },
  'mnist': {
    title: 'MNIST CNN', shownIn: "the talk only (the experiments' README: not used in the paper)", source: 'timing_logs/archived/mnist_times_cpu.csv', runs: 5,
    rows: [
      [0, 4.098, 0, 0], [1, 3.681, 1.055, 0.06318], [2, 3.509, 1.047, 0.04697], [3, 2.869, 119.1, 11.81],
      [4, 2.569, 120.3, 11.18], [5, 2.5, 121.5, 10.99], [6, 2.154, 121.9, 12.26], [7, 1.547, 238.6, 95.46],
      [8, 0.3231, 241.8, 95.88],
    ],
  },
  'imdb': {
    title: 'IMDB (TF-IDF MLP)', shownIn: 'the talk only', source: 'timing_logs/archived/imdb_times_cpu.csv', runs: 5,
    rows: [
      [0, 1.831, 0, 0], [1, 1.367, 0.9418, 0.04148], [2, 1.201, 0.9286, 0.04721], [3, 0.6082, 94.76, 8.006],
      [4, 24.07, 94.24, 7.996],
    ],
  },
  'rt-polarity': {
    title: 'Rotten Tomatoes sepCNN', shownIn: 'the talk only; the original is the 5-class Kaggle phrase data, ours the 2-class sentence-polarity stand-in', source: 'timing_logs/archived/rotten_times_cpu.csv', runs: 5,
    rows: [
      [0, 6.819, 0, 0], [1, 5.589, 0.7997, 0.04697], [2, 5.496, 0.7856, 0.04005], [3, 5.37, 0.8433, 0.05007],
      [4, 5.351, 6.602, 2.705], [5, 4.542, 9.234, 3.997], [6, 4.361, 9.341, 4.014], [7, 3.968, 12.95, 6.034],
      [8, 2.576, 24.66, 12.38], [9, 2.392, 24.48, 12.35],
    ],
  },
};

/** The paper's per-inference enclave setup (created and destroyed for every inference). */
export const PAPER_SETUP_MS = 780;

/**
 * The derived figures of one model.
 *
 * @param model a key of {@link PAPER}
 */
export function paperFigures(model: string): PaperFigure[] {
  const p = PAPER[model];
  if (!p) return [];
  const tf0 = p.rows.find((r) => r[0] === 0)?.[1] ?? NaN;
  return p.rows.map(([k, tf, enclave, native]) => ({ k, enclaveMs: enclave, nativeMs: native,
    teeImpact: k === 0 ? NaN : enclave / native, cpuImpact: (tf + native) / tf0 }));
}

const ratio = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : '-');

/** Markdown: our run beside the experiments' figures, as ratios, for every k both have. */
export function paperComparison(model: string, r: BenchReport): string {
  const paper = PAPER[model];
  if (!paper) return '';
  const rows = paperFigures(model).filter((f) => f.k > 0).map((f) => {
    const ours = r.splits.find((s) => s.k === f.k);
    const cold = ours?.t_enclave_cold && ours.t_native_cold ? `${formatMs(ours.t_enclave_cold.median)} / ${formatMs(ours.t_native_cold.median)}` : '-';
    const oursText = ours ? `${formatMs(ours.t_enclave.median)} / ${formatMs(ours.t_native.median)} | **${ratio(ours.tee_impact)}** | ${cold} | ${ratio(ours.cpu_impact)}` : 'not measured | | | ';
    return `| ${f.k} | ${formatMs(f.enclaveMs)} / ${formatMs(f.nativeMs)} | ${ratio(f.teeImpact)} | ${ratio(f.cpuImpact)} | ${oursText} |`;
  });
  const setupMedian = middleValue(r.splits.filter((s) => s.k > 0).map((s) => s.setup.ready_total));
  const prewarmed = r.splits.filter((s) => s.k > 0 && s.setup.prewarmed !== undefined).map((s) => s.setup.prewarmed!);
  return [
    `Reference: ${paper.title}, shown in ${paper.shownIn}; medians of ${paper.runs} runs per k from the eNNclave experiments' \`${paper.source}\` (commit e506fad).`,
    '',
    '| k | paper: enclave / native | paper TEE impact | paper CPU impact ¹ | this run, steady: enclave / native | this run TEE impact (steady) | this run, cold: enclave / native ³ | this run CPU impact ² |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    '¹ (TensorFlow head + native C tail) / the whole model in TensorFlow: what the hand-written kernels cost. ' +
      '² The tail on the enclave\'s engine outside the enclave / the same layers in the public runtime (both onnxruntime). ' +
      '³ First call after 12 ms idle (docs/bench.md). What differs: the experiments ran an SGX enclave with hand-written C kernels, ' +
      'one fresh process (and enclave) per inference; this run is the INSECURE sim platform (a separate process, no SGX), one enclave ' +
      'per session on the same onnxruntime as the public side, timed as steady streams and as cold single calls.',
    '',
    `Enclave setup: paper ${formatMs(PAPER_SETUP_MS)} **for every inference**; this run ${formatMs(setupMedian)} (median over splits) **once per session**, then every inference reuses the enclave${prewarmed.length ? `; with the enclave prewarmed while the host does its own work, ${formatMs(middleValue(prewarmed))} left to wait (median, attest → ready)` : ''}.`,
  ].join('\n') + '\n';
}
