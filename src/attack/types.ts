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

/** Which substitute the attacker trains. */
export type AttackerKind = 'generic' | 'architecture';

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
  /** Training budget in sample passes: epochs = clamp(ceil(passes / Q), 1, 100). @defaultValue 10000 */
  trainPasses?: number;
  /** Rows per query and per head run. @defaultValue 256 */
  queryBatch?: number;
  /** Progress lines. */
  progress?: (line: string) => void;
}

/** One trained substitute's predictions on `predictOn`. */
export interface StolenPrediction {
  attacker: AttackerKind;
  queries: number;
  /** What was trained, e.g. 'mlp 128' or 'tail architecture (4 nodes, 1290 parameters)'. */
  substitute: string;
  epochs: number;
  trainSeconds: number;
  /** Predicted class per row of `predictOn`. */
  labels: Int32Array;
  /** Why this attacker could not run (then `labels` is empty). */
  skipped?: string;
}

/** One (split, attacker, Q) measurement. */
export interface AttackRow {
  attacker: AttackerKind;
  queries: number;
  substitute: string;
  epochs: number;
  trainSeconds: number;
  /** Accuracy of the substitute (head + substitute tail) on the test labels. */
  substituteAccuracy: number;
  /** Agreement of the substitute's labels with the victim's on the test inputs. */
  fidelity: number;
  /** substituteAccuracy / victimAccuracy. */
  ratio: number;
  skipped?: string;
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
}

/** The recommended split (docs/attack.md §5). */
export interface Recommendation {
  /** The fewest private layers whose stolen accuracy ≤ the target; null when none is. */
  k: number | null;
  maxStolenAccuracy: number;
  rule: string;
}

/** A whole `enclave-nn attack` run. */
export interface ProtectionReport {
  model: string;
  command: string;
  startedAt: string;
  durationMs: number;
  /** CPU time of this process (user + system), seconds: the wall time an idle machine would need, roughly. */
  cpuSeconds: number;
  options: { queries: number[]; mode: AnswerMode; seed: number; trainPasses: number; attackers: AttackerKind[]; dataRows: number; testRows: number };
  classes: number;
  splits: SplitProtection[];
  recommendation: Recommendation | null;
}
