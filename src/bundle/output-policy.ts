/**
 * Output policies (docs/bundle-format.md §5.6): how the enclave shapes the tail's answers
 * before they leave it. The policy is sealed inside the tail's ciphertext; the public header
 * shows only the output specs it produces ({@link policyOutputSpecs}).
 */
import { EnclaveNnError } from '../errors.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';

/** A parsed output policy. */
export type OutputPolicy =
  | { kind: 'probabilities' }
  | { kind: 'label' }
  | { kind: 'top-k'; k: number }
  | { kind: 'round'; decimals: number }
  | { kind: 'reverse-sigmoid'; beta: number; gamma: number };

/** The default policy: the tail's outputs as they are (no record in the sealed tail). */
export const PROBABILITIES: OutputPolicy = Object.freeze({ kind: 'probabilities' });
/** Largest K of `top-k:K`. */
export const MAX_TOP_K = 1000;
/** Largest D of `round:D` (float32 carries about 7 decimals). */
export const MAX_ROUND_DECIMALS = 6;
/** γ of the reverse sigmoid when the policy string gives none: the default of ART, the authors' implementation. */
export const DEFAULT_REVERSE_SIGMOID_GAMMA = 0.1;

const DECIMAL = /^(?:0|[1-9][0-9]{0,5})(?:\.[0-9]{1,6})?$/;
const INT = /^(?:0|[1-9][0-9]{0,5})$/;

/**
 * Parses a policy string: `probabilities`, `label`, `top-k:K` (1 ≤ K ≤ 1000), `round:D`
 * (0 ≤ D ≤ 6) or `perturb:reverse-sigmoid:BETA[:GAMMA]` (0 < BETA, 0 < GAMMA, plain
 * decimals). Throws `OUTPUT_POLICY` naming what is wrong.
 *
 * @example
 * ```ts
 * parseOutputPolicy('top-k:3'); // { kind: 'top-k', k: 3 }
 * ```
 */
export function parseOutputPolicy(text: string): OutputPolicy {
  const bad = (why: string) => new EnclaveNnError('OUTPUT_POLICY', `Cannot read output policy '${printable(text)}': ${why}`);
  const parts = text.split(':');
  const int = (s: string | undefined, what: string, min: number, max: number): number => {
    if (s === undefined || !INT.test(s) || Number(s) < min || Number(s) > max) throw bad(`${what} is not an integer in ${min}..${max}`);
    return Number(s);
  };
  const positive = (s: string | undefined, what: string): number => {
    if (s === undefined || !DECIMAL.test(s) || !(Number(s) > 0)) throw bad(`${what} is not a positive decimal such as 0.5`);
    return Number(s);
  };
  switch (parts[0]) {
    case 'probabilities': if (parts.length === 1) return PROBABILITIES; break;
    case 'label': if (parts.length === 1) return { kind: 'label' }; break;
    case 'top-k': if (parts.length === 2) return { kind: 'top-k', k: int(parts[1], 'K', 1, MAX_TOP_K) }; break;
    case 'round': if (parts.length === 2) return { kind: 'round', decimals: int(parts[1], 'D', 0, MAX_ROUND_DECIMALS) }; break;
    case 'perturb':
      if (parts[1] !== 'reverse-sigmoid') throw bad("the only perturbation is 'reverse-sigmoid' (perturb:reverse-sigmoid:BETA[:GAMMA])");
      if (parts.length === 3 || parts.length === 4) {
        return { kind: 'reverse-sigmoid', beta: positive(parts[2], 'BETA'), gamma: parts.length === 4 ? positive(parts[3], 'GAMMA') : DEFAULT_REVERSE_SIGMOID_GAMMA };
      }
      break;
    default:
      throw bad('expected probabilities, label, top-k:K, round:D or perturb:reverse-sigmoid:BETA[:GAMMA]');
  }
  throw bad(`'${parts[0]}' takes ${({ probabilities: 'no', label: 'no', 'top-k': 'one', round: 'one', perturb: 'one or two' } as Record<string, string>)[parts[0]!]} parameter(s)`);
}

/** The canonical string of a policy (what the sealed record holds; {@link parseOutputPolicy} reads it back). */
export function formatOutputPolicy(p: OutputPolicy): string {
  switch (p.kind) {
    case 'probabilities': case 'label': return p.kind;
    case 'top-k': return `top-k:${p.k}`;
    case 'round': return `round:${p.decimals}`;
    case 'reverse-sigmoid': return `perturb:reverse-sigmoid:${p.beta}:${p.gamma}`;
  }
}

/** The name of top-k's class-index output beside output `name`. */
export const classesOutputName = (name: string): string => `${name}_classes`;

/**
 * The output specs a policy produces from the tail's outputs (what the public header lists,
 * §5.6). `probabilities` and `round:D` keep the specs (`round` needs float32 outputs); `label`,
 * `top-k` and the reverse sigmoid need exactly one float32 output [batch, C] with C ≥ 2 fixed
 * (a single column is a regression: rounding only). `label` → int64 [batch]; `top-k:K` →
 * `<out>` float32 [batch, K] and `<out>_classes` int64 [batch, K]. Throws `OUTPUT_POLICY`.
 */
export function policyOutputSpecs(p: OutputPolicy, outputs: readonly TensorSpec[]): TensorSpec[] {
  const name = formatOutputPolicy(p);
  const refuse = (why: string) => new EnclaveNnError('OUTPUT_POLICY', `Cannot apply output policy '${name}': ${why}`);
  const copy = outputs.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] }));
  if (p.kind === 'probabilities') return copy;
  if (p.kind === 'round') {
    const other = outputs.find((t) => t.dtype !== 'float32');
    if (other) throw refuse(`output '${other.name}' is ${other.dtype}; rounding needs float32 outputs`);
    return copy;
  }
  if (outputs.length !== 1) throw refuse(`it needs a model with one output, this tail has ${outputs.length}`);
  const out = outputs[0]!;
  const classes = out.shape[1];
  if (out.dtype !== 'float32' || out.shape.length !== 2 || typeof classes !== 'number') {
    throw refuse(`it needs a float32 [batch, classes] output with a fixed class count, '${out.name}' is ${out.dtype} [${out.shape.join(',')}]`);
  }
  if (classes < 2) throw refuse(`'${out.name}' has a single column (a regression output): only round:D applies`);
  const batch = out.shape[0]!;
  if (p.kind === 'label') return [{ name: out.name, dtype: 'int64', shape: [batch] }];
  if (p.kind === 'top-k') {
    if (p.k > classes) throw refuse(`K = ${p.k} exceeds the ${classes} classes of '${out.name}'`);
    return [{ name: out.name, dtype: 'float32', shape: [batch, p.k] }, { name: classesOutputName(out.name), dtype: 'int64', shape: [batch, p.k] }];
  }
  return copy;
}

/** Version byte of the sealed policy record (§5.6). */
export const POLICY_RECORD_VERSION = 1;

/**
 * The sealed policy record (§5.6): u8 version (1) ‖ u16 BE n ‖ n bytes of the canonical policy
 * string (UTF-8). Empty for `probabilities` (no record: the padding starts right after the tail).
 */
export function encodePolicyRecord(p: OutputPolicy): Uint8Array {
  if (p.kind === 'probabilities') return new Uint8Array(0);
  const text = new TextEncoder().encode(formatOutputPolicy(p));
  const out = new Uint8Array(3 + text.byteLength);
  out[0] = POLICY_RECORD_VERSION;
  new DataView(out.buffer).setUint16(1, text.byteLength, false);
  out.set(text, 3);
  return out;
}

/**
 * Reads the record at the start of `rest` (the plaintext after the tail, §5.6). Returns the
 * policy and the record's length, or null when the record is malformed: unknown version, a
 * length past the end, a string that is not a known policy in canonical form. A zero first
 * byte (or nothing) means no record: `probabilities`.
 */
export function decodePolicyRecord(rest: Uint8Array): { policy: OutputPolicy; size: number } | null {
  if (rest.byteLength === 0 || rest[0] === 0) return { policy: PROBABILITIES, size: 0 };
  if (rest[0] !== POLICY_RECORD_VERSION || rest.byteLength < 3) return null;
  const n = new DataView(rest.buffer, rest.byteOffset, rest.byteLength).getUint16(1, false);
  if (n === 0 || 3 + n > rest.byteLength) return null;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(rest.subarray(3, 3 + n));
  } catch {
    return null;
  }
  let policy: OutputPolicy;
  try {
    policy = parseOutputPolicy(text);
  } catch {
    return null;
  }
  // Canonical only: one policy, one byte string (and `probabilities` is never written).
  if (policy.kind === 'probabilities' || formatOutputPolicy(policy) !== text) return null;
  return { policy, size: 3 + n };
}

function printable(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
