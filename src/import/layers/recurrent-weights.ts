/**
 * Keras → ONNX weight layouts for the recurrent cells (pure data shuffling, no graph).
 *
 * Keras stores a cell as `kernel` [input, gates·units], `recurrent_kernel` [units, gates·units]
 * and `bias` ([gates·units], or [2, gates·units] for GRU with `reset_after`), the gates side by
 * side in the columns. ONNX wants W [gates·hidden, input], R [gates·hidden, hidden] and
 * B [2·gates·hidden] (input biases Wb, then recurrent biases Rb), the gates stacked in rows and
 * in its own order.
 */
import type { LayerWeight } from '../types.ts';

/** The three ONNX parameter blocks of one direction. */
export interface OnnxCellWeights {
  /** [gates·hidden, input], row-major. */
  W: Float32Array;
  /** [gates·hidden, hidden], row-major. */
  R: Float32Array;
  /** [2·gates·hidden]: Wb then Rb. */
  B: Float32Array;
  inputSize: number;
}

/**
 * For each ONNX gate position, the Keras gate it takes. LSTM: Keras i, f, c, o → ONNX i, o, f, c.
 * GRU: Keras z, r, h = ONNX z, r, h. SimpleRNN: one gate.
 */
export const GATE_ORDER = { LSTM: [0, 3, 1, 2], GRU: [0, 1, 2], SimpleRNN: [0] } as const;

/** A recurrent cell's Keras class name. */
export type CellClass = keyof typeof GATE_ORDER;

/**
 * Transposes a Keras gate-column matrix [rows, gates·hidden] into ONNX's gate-row matrix
 * [gates·hidden, rows], reordering the gates.
 *
 * @example
 * ```ts
 * // LSTM kernel [I, 4H] (i f c o) → W [4H, I] (i o f c)
 * const W = gatesToRows(kernel, I, H, GATE_ORDER.LSTM);
 * ```
 */
export function gatesToRows(m: Float32Array, rows: number, hidden: number, order: readonly number[]): Float32Array {
  const cols = order.length * hidden;
  const out = new Float32Array(cols * rows);
  order.forEach((src, g) => {
    for (let h = 0; h < hidden; h++) {
      const outRow = (g * hidden + h) * rows;
      const srcCol = src * hidden + h;
      for (let r = 0; r < rows; r++) out[outRow + r] = m[r * cols + srcCol]!;
    }
  });
  return out;
}

/** Reorders the gate blocks of a bias vector [gates·hidden]. */
export function reorderGates(v: Float32Array, hidden: number, order: readonly number[]): Float32Array {
  const out = new Float32Array(order.length * hidden);
  order.forEach((src, g) => out.set(v.subarray(src * hidden, (src + 1) * hidden), g * hidden));
  return out;
}

/** The last path segment of a Keras weight name without `:0` (`lstm/lstm_cell/kernel:0` → `kernel`). */
function leafName(w: LayerWeight): string {
  return (w.name.split('/').pop() ?? '').replace(/:\d+$/, '');
}

/**
 * Picks kernel, recurrent_kernel and bias from one cell's weights: by name when the names say
 * which is which, else by position (Keras order: kernel, recurrent_kernel, bias).
 */
export function pickCellWeights(ws: LayerWeight[], useBias: boolean): { kernel: LayerWeight; recurrent: LayerWeight; bias?: LayerWeight } {
  const byName = (leaf: string) => ws.find((w) => leafName(w) === leaf);
  const kernel = byName('kernel') ?? ws[0];
  const recurrent = byName('recurrent_kernel') ?? ws[1];
  const bias = useBias ? byName('bias') ?? ws[2] : undefined;
  const expected = useBias ? 3 : 2;
  if (!kernel || !recurrent || (useBias && !bias) || ws.length !== expected) {
    throw new RangeError(`expected ${expected} weights (kernel, recurrent_kernel${useBias ? ', bias' : ''}), got ${ws.length}: ${ws.map((w) => w.name).join(', ')}`);
  }
  return { kernel, recurrent, bias };
}

/**
 * Converts one Keras cell's weights to ONNX W, R, B. `resetAfter` (GRU only) means the bias is
 * [2, 3·units]: its first row is ONNX Wb, its second Rb (ONNX `linear_before_reset=1` uses Rbh
 * inside the reset product, exactly as Keras does). Otherwise the single Keras bias is Wb and Rb is 0.
 */
export function cellToOnnx(cell: CellClass, ws: LayerWeight[], units: number, useBias: boolean, resetAfter: boolean): OnnxCellWeights {
  const order = GATE_ORDER[cell];
  const gh = order.length * units;
  const { kernel, recurrent, bias } = pickCellWeights(ws, useBias);
  const inputSize = kernel.shape[0]!;
  const expectShape = (w: LayerWeight, shape: number[]) => {
    if (w.shape.join() !== shape.join()) throw new RangeError(`weight ${w.name} has shape [${w.shape}], expected [${shape}]`);
  };
  expectShape(kernel, [inputSize, gh]);
  expectShape(recurrent, [units, gh]);
  const B = new Float32Array(2 * gh);
  if (bias) {
    if (resetAfter) {
      expectShape(bias, [2, gh]);
      B.set(reorderGates(bias.data.subarray(0, gh), units, order), 0);
      B.set(reorderGates(bias.data.subarray(gh, 2 * gh), units, order), gh);
    } else {
      expectShape(bias, [gh]);
      B.set(reorderGates(bias.data, units, order), 0);
    }
  }
  return {
    W: gatesToRows(kernel.data, inputSize, units, order),
    R: gatesToRows(recurrent.data, units, units, order),
    B,
    inputSize,
  };
}

/** Concatenates per-direction blocks into one [numDirections, …] buffer. */
export function stackDirections(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}
