/**
 * The model-stealing evaluation's public types (docs/attack.md). Read this file for the API:
 * the attacker's view of a deployed split ({@link AttackSurface}), what it does with it
 * ({@link AttackOptions}), and what the evaluator reports ({@link ProtectionReport}).
 * @module
 */
import type { TensorData } from '../onnx/ort.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';

/** What the bundle's public header reveals: the head's inputs, the cut tensors, the outputs (docs/attack.md §2). */
export interface PublicInterface {
  /** The model's inputs (what the head takes). */
  headInputs: TensorSpec[];
  /** The cut tensors: the head's outputs, the enclave's inputs. */
  inputs: TensorSpec[];
  /** The enclave's outputs. */
  outputs: TensorSpec[];
}

/** One call to the enclave: cut tensors in (batch ≥ 1), the enclave's outputs back. */
export type QueryFn = (cut: Record<string, TensorData>) => Promise<Record<string, TensorData>>;

/**
 * Everything the attacker gets: the public head's ONNX bytes (empty when the whole model is
 * private), the public header and query access to the enclave. Never the tail.
 */
export interface AttackSurface {
  head: Uint8Array;
  header: PublicInterface;
  query: QueryFn;
}

/** How the enclave answers: the top label only, or the full output vector. */
export type AnswerMode = 'label' | 'prob';

/**
 * Which substitute the attacker trains: `generic` (from the cut's shape), `architecture` (the
 * true tail architecture, revealed by the evaluator), `pretrained` (a public trained model of
 * the same task, fine-tuned; only where the cut is the model input), or `own-data` — the
 * no-query baseline: the generic substitute trained on the attacker's own labelled data of the
 * same size, without a single query (docs/attack.md §3).
 */
export type AttackerKind = 'generic' | 'architecture' | 'pretrained' | 'own-data';

/**
 * A defence as the evaluator deploys it (docs/attack.md §4.1): `prob` — the tail's outputs as
 * they are (output policy `probabilities`), or an output policy string sealed in the bundle:
 * `label`, `top-k:K`, `round:D`, `perturb:reverse-sigmoid:BETA[:GAMMA]`.
 */
export type Defence = string;

/**
 * The tail's architecture with its weights removed: what the evaluator reveals to the
 * worst-case attacker (docs/attack.md §3). Made by `architectureOf` from the evaluator's copy
 * of the tail: every learned tensor is replaced by its shape; only constants (shapes, indices,
 * scalars) keep their values.
 */
export interface ArchitectureSkeleton {
  /** ONNX model bytes; every float initializer with more than one element is all zeros. */
  onnx: Uint8Array;
}

/** Options of `stealTail`. */
export interface AttackOptions {
  /** The attacker's unlabelled inputs, by head input name; at least max(queries) rows. */
  data: Record<string, TensorData>;
  /** Query budgets Q (rows of `data` sent to the enclave); each substitute uses the first Q. */
  queries: number[];
  /** @defaultValue 'label' */
  mode?: AnswerMode;
  /** Which attackers; 'architecture' needs `architecture`. @defaultValue ['generic'] */
  attackers?: AttackerKind[];
  /** The tail's architecture, revealed by the evaluator for the worst-case attacker. */
  architecture?: ArchitectureSkeleton;
  /** Inputs to predict after training (the evaluator's test inputs; never their labels). */
  predictOn: Record<string, TensorData>;
  /** Seed of weights and data order. @defaultValue 1 */
  seed?: number;
  /** Several seeds: every substitute is trained once per seed (on the same answers); overrides `seed`. */
  seeds?: number[];
  /** Training budget in sample passes: epoch cap = clamp(ceil(passes / Q), minEpochs, 100). @defaultValue 10000 */
  trainPasses?: number;
  /** The epoch cap's floor, so that large budgets still train several epochs. @defaultValue 1 */
  minEpochs?: number;
  /** Early stopping on 10 % of the attacker's answered rows (held out, best epoch kept). @defaultValue true */
  earlyStopping?: boolean;
  /** Epochs without improvement on the held-out rows before stopping. @defaultValue 4 */
  patience?: number;
  /** The number of classes, as the product's description tells any customer; default: read off the answers. */
  classes?: number;
  /** True labels of `data`'s rows: the own-data baseline trains on the first Q of them. */
  ownLabels?: Int32Array;
  /** A public pretrained TF.js model (model.json) for the `pretrained` attacker. */
  pretrained?: string;
  /** Called with each trained substitute as ONNX (cut tensors in, probabilities out): `attack --save-substitutes`. */
  onSubstitute?: (p: StolenPrediction, onnx: import('onnx-buf').ModelProto) => void | Promise<void>;
  /** Rows per query and per head run. @defaultValue 256 */
  queryBatch?: number;
  /** Progress lines. */
  progress?: (line: string) => void;
}

/** One trained substitute's predictions on `predictOn`. */
export interface StolenPrediction {
  attacker: AttackerKind;
  queries: number;
  /** The seed of this training. */
  seed: number;
  /** The epoch whose weights were kept (early stopping). */
  bestEpoch: number;
  /** What was trained, e.g. 'mlp 128' or 'tail architecture (4 nodes, 1290 parameters)'. */
  substitute: string;
  epochs: number;
  trainSeconds: number;
  /** Predicted class per row of `predictOn`. */
  labels: Int32Array;
  /** Why this attacker could not run (then `labels` is empty). */
  skipped?: string;
}

/** One seed's result of a (split, defence, attacker, Q) measurement. */
export interface SeedResult {
  seed: number;
  substituteAccuracy: number;
  fidelity: number;
  /** Epochs trained and the epoch kept (early stopping). */
  epochs: number;
  bestEpoch: number;
}

/** One (split, defence, attacker, Q) measurement: the mean over seeds, with the spread. */
export interface AttackRow {
  attacker: AttackerKind;
  queries: number;
  substitute: string;
  /** Mean epochs trained over the seeds. */
  epochs: number;
  /** Mean training seconds over the seeds. */
  trainSeconds: number;
  /** Mean accuracy of the substitute (head + substitute tail) on the test labels. */
  substituteAccuracy: number;
  /** Mean agreement of the substitute's labels with the victim's on the test inputs. */
  fidelity: number;
  /** substituteAccuracy / victimAccuracy. */
  ratio: number;
  skipped?: string;
  /** The answers' form (docs/attack.md §4.1). Absent in reports written before defences existed. @defaultValue 'prob' or 'label' as options.mode */
  defence?: Defence;
  /** Sample standard deviation of the accuracy over the seeds (0 for one seed). */
  substituteAccuracySd?: number;
  /** Sample standard deviation of the fidelity over the seeds. */
  fidelitySd?: number;
  /** Lowest and highest accuracy over the seeds. */
  accuracyRange?: [number, number];
  /** Every seed's numbers. */
  perSeed?: SeedResult[];
  /**
   * TEESlice's normalised metric (docs/attack.md §4): this accuracy over the accuracy of the
   * same attacker, defence and Q against the black-box baseline (the whole model in the
   * enclave). 1.0 = as safe as shielding everything; NaN when that split was not evaluated.
   */
  relativeToBlackBox?: number;
}

/** What one defence does at one split: to honest users and to the attacker. */
export interface DefenceResult {
  defence: Defence;
  /** Top-1 accuracy of the answers as an honest user reads them (the first class named). */
  honestAccuracy: number;
  /**
   * What the answers withhold from honest users: the mean total-variation distance between the
   * model's probabilities and the answer read as a distribution (0 = the full probabilities;
   * label answers ≈ 1 − the top probability). Computed with the unsplit model.
   */
  honestDistortion: number;
  /** The best querying attacker's mean accuracy at the largest Q. */
  stolenAccuracy: number;
  /**
   * The license query cap this split and defence allow: the largest evaluated Q at which every
   * querying attacker's accuracy (the worst seed) stays at or under the target, for that Q and
   * every smaller one; null when even the smallest Q exceeds it; undefined without a target.
   */
  queryCap?: number | null;
}

/** Everything measured for split k. */
export interface SplitProtection {
  /** Layers in the enclave (0 = all public: nothing to steal). */
  k: number;
  firstPrivateLayer: string | null;
  /** Cut tensors as `name dtype[shape]`. */
  cut: string[];
  /** Accuracy of the deployed model (head + enclave) on the test set. */
  victimAccuracy: number;
  rows: AttackRow[];
  /** The best attacker's accuracy at the largest Q (k = 0: the victim's own). */
  stolenAccuracy: number;
  /** The split's cost, from the bench: enclave / native time. */
  teeImpact?: number;
  /** The enclave's peak resident memory, bytes. */
  enclavePeakRssBytes?: number;
  /** Bytes of the tail's weights (what the enclave hides). */
  tailWeightBytes?: number;
  /** Per defence (docs/attack.md §4.1); the first one's stolen accuracy is `stolenAccuracy`. */
  defences?: DefenceResult[];
  /** The own-data baseline's mean accuracy at the largest Q (no query; the attacker's own labels). */
  ownDataAccuracy?: number;
}

/** The recommended split (docs/attack.md §5). */
export interface Recommendation {
  /** The fewest private layers whose stolen accuracy ≤ the target; null when none is. */
  k: number | null;
  maxStolenAccuracy: number;
  rule: string;
  /** Per split, the license query cap under the first defence (see {@link DefenceResult.queryCap}). */
  queryCaps?: { k: number; defence: Defence; cap: number | null }[];
}

/** A whole `enclave-nn attack` run. */
export interface ProtectionReport {
  model: string;
  command: string;
  startedAt: string;
  durationMs: number;
  /** CPU time of this process (user + system), seconds: the wall time an idle machine would need, roughly. */
  cpuSeconds: number;
  options: {
    queries: number[]; mode: AnswerMode; seed: number; trainPasses: number; attackers: AttackerKind[]; dataRows: number; testRows: number;
    /** The defences evaluated, in order. */
    defences?: Defence[];
    seeds?: number[];
    minEpochs?: number;
    /** Where the attacker's queries came from (e.g. 'in-distribution', 'IMDB reviews (out of distribution)'). */
    querySource?: string;
    pretrained?: string;
  };
  classes: number;
  splits: SplitProtection[];
  recommendation: Recommendation | null;
}
