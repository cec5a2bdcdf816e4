/**
 * Enforces the sealed output policy on the tail's outputs, inside the enclave, after the engine
 * ran (docs/enclave-protocol.md §4.5, docs/bundle-format.md §5.6). Part of the trusted code base:
 * the host never sees the raw outputs of a bundle whose policy is not `probabilities`.
 */
import { classesOutputName, type OutputPolicy } from '../../bundle/output-policy.ts';
import type { TensorData } from '../../onnx/ort.ts';

/** Clip bounds of the reverse sigmoid's logit (as ART, the authors' implementation). */
const CLIP = 1e-9;

/**
 * Applies `policy` to the tail's outputs and returns what leaves the enclave. `label`,
 * `top-k` and the reverse sigmoid act on the single float32 [batch, C] output (the bundle
 * writer checked the specs); `round:D` on every float32 output. Throws a plain Error when the
 * outputs are not what the policy needs (the caller turns it into an ENGINE error).
 */
export function applyOutputPolicy(policy: OutputPolicy, outputs: Record<string, TensorData>): Record<string, TensorData> {
  if (policy.kind === 'probabilities') return outputs;
  if (policy.kind === 'round') {
    const f = 10 ** policy.decimals;
    return Object.fromEntries(Object.entries(outputs).map(([k, t]) => {
      if (!(t.data instanceof Float32Array)) throw new Error('round:D needs float32 outputs');
      // Half away from zero, so that −0.125 and 0.125 round alike at D = 2.
      return [k, { dtype: t.dtype, dims: [...t.dims], data: t.data.map((v) => Math.sign(v) * Math.round(Math.abs(v) * f) / f) }];
    }));
  }
  const names = Object.keys(outputs);
  const name = names[0]!;
  const t = outputs[name]!;
  if (names.length !== 1 || !(t.data instanceof Float32Array) || t.dims.length !== 2 || t.dims[1]! < 2) {
    throw new Error('the tail output is not one float32 [batch, classes] tensor');
  }
  const [batch, classes] = t.dims as [number, number];
  const rows = (i: number) => (t.data as Float32Array).subarray(i * classes, (i + 1) * classes);
  if (policy.kind === 'label') {
    const labels = new BigInt64Array(batch);
    for (let i = 0; i < batch; i++) labels[i] = BigInt(argmax(rows(i)));
    return { [name]: { dtype: 'int64', dims: [batch], data: labels } };
  }
  if (policy.kind === 'top-k') {
    const k = policy.k;
    const probs = new Float32Array(batch * k);
    const idx = new BigInt64Array(batch * k);
    for (let i = 0; i < batch; i++) {
      const row = rows(i);
      const order = topK(row, k);
      order.forEach((c, j) => { probs[i * k + j] = row[c]!; idx[i * k + j] = BigInt(c); });
    }
    return { [name]: { dtype: 'float32', dims: [batch, k], data: probs }, [classesOutputName(name)]: { dtype: 'int64', dims: [batch, k], data: idx } };
  }
  const out = new Float32Array(batch * classes);
  for (let i = 0; i < batch; i++) out.set(reverseSigmoid(rows(i), policy.beta, policy.gamma), i * classes);
  return { [name]: { dtype: 'float32', dims: [batch, classes], data: out } };
}

/** Index of the largest value; ties go to the lower index; NaN never wins. */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < row.length; c++) if (row[c]! > row[best]! || Number.isNaN(row[best]!)) best = c;
  return best;
}

/** The K largest classes, descending; ties by lower index; NaN last. */
function topK(row: Float32Array, k: number): number[] {
  const key = (c: number) => (Number.isNaN(row[c]!) ? -Infinity : row[c]!);
  return Array.from(row.keys()).sort((a, b) => key(b) - key(a) || a - b).slice(0, k);
}

/**
 * The reverse sigmoid perturbation of Lee, Edwards, Molloy, Srivastava, "Defending Against
 * Neural Network Model Stealing Attacks Using Deceptive Perturbations" (IEEE S&P Workshops
 * 2019): r = β·(s(γ·s⁻¹(y)) − ½), y' = α·(y − r) with s the sigmoid, s⁻¹ the logit (y clipped
 * to [1e-9, 1 − 1e-9]), y − r clipped to [0, 1] and α normalising the row to sum 1 (as the
 * authors' implementation in ART). The paper's aim is to keep the top-1 label; for large β or
 * γ the formula can reorder classes, so when the perturbed argmax is another class the two
 * entries are swapped (and a row that clips to all zeros answers the one-hot of its label).
 */
export function reverseSigmoid(y: Float32Array, beta: number, gamma: number): Float32Array {
  const z = new Float64Array(y.length);
  let sum = 0;
  for (let c = 0; c < y.length; c++) {
    const v = y[c]!;
    const p = Math.min(1 - CLIP, Math.max(CLIP, v));
    const r = beta * (1 / (1 + Math.exp(-gamma * Math.log(p / (1 - p)))) - 0.5);
    z[c] = Math.min(1, Math.max(0, v - r));
    sum += z[c]!;
  }
  const label = argmax(y);
  const out = new Float32Array(y.length);
  if (!(sum > 0)) { out[label] = 1; return out; }
  for (let c = 0; c < y.length; c++) out[c] = z[c]! / sum;
  const now = argmax(out);
  if (now !== label) { const a = out[now]!; out[now] = out[label]!; out[label] = a; }
  // The top-1 label is the promise of this policy: never answer another one.
  if (argmax(out) !== label) { out.fill(0); out[label] = 1; }
  return out;
}
