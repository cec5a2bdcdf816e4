/**
 * Input and output files for `enclave-nn run`: `.npy` or JSON in, `.npy` out, and a printable
 * summary (values, argmax for classifiers). Logic for the CLI, kept out of the command file.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { EnclaveNnError } from '../errors.ts';
import type { TensorData } from '../onnx/ort.ts';
import { formatShape, type TensorSpec } from '../onnx/tensor-spec.ts';
import { readNpy } from './npy.ts';

type Nested = number | boolean | Nested[];

/**
 * Reads `--input` arguments into feeds: `x.npy` / `x.json` for a single-input model, or
 * `name=x.npy` per input; a JSON file may also hold `{ "<input name>": nested arrays }`.
 * float64 `.npy` data is converted to float32 when the model wants float32 (NumPy's default
 * dtype); other dtype mismatches are left to {@link checkFeeds}. A sample without the batch
 * dimension (rank one less than the input's) gets a batch of 1.
 */
export function readInputs(args: readonly string[], specs: readonly TensorSpec[]): Record<string, TensorData> {
  const feeds: Record<string, TensorData> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    const named = eq > 0 && !arg.slice(0, eq).includes('/') ? arg.slice(0, eq) : undefined;
    const path = named ? arg.slice(eq + 1) : arg;
    const bytes = readInputFile(path);
    if (extname(path).toLowerCase() === '.json') {
      let value: unknown;
      try { value = JSON.parse(new TextDecoder().decode(bytes)); } catch (e) { throw new EnclaveNnError('INPUT', `Cannot read input ${path}: not JSON (${(e as Error).message})`); }
      if (Array.isArray(value) || named) {
        const spec = specFor(named, specs, path);
        feeds[spec.name] = fromNested(value as Nested, spec, path);
      } else if (typeof value === 'object' && value !== null) {
        for (const [k, v] of Object.entries(value)) feeds[k] = fromNested(v as Nested, specFor(k, specs, path), path);
      } else {
        throw new EnclaveNnError('INPUT', `Cannot read input ${path}: expected a nested array or { "<input name>": nested array }`);
      }
    } else {
      const spec = specFor(named, specs, path);
      let t: TensorData;
      try { t = readNpy(bytes); } catch (e) { throw new EnclaveNnError('INPUT', `Cannot read input ${path}: ${(e as Error).message}`); }
      if (t.dtype === 'float64' && spec.dtype === 'float32') t = { dtype: 'float32', dims: t.dims, data: Float32Array.from(t.data as Float64Array) };
      feeds[spec.name] = withBatch(t, spec);
    }
  }
  return feeds;
}

function readInputFile(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new EnclaveNnError('INPUT', `Cannot read input ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function specFor(name: string | undefined, specs: readonly TensorSpec[], path: string): TensorSpec {
  if (name === undefined) {
    if (specs.length !== 1) throw new EnclaveNnError('INPUT', `Cannot read input ${path}: the model has ${specs.length} inputs (${specs.map((s) => s.name).join(', ')}); give --input NAME=FILE for each`);
    return specs[0]!;
  }
  const s = specs.find((x) => x.name === name);
  if (!s) throw new EnclaveNnError('INPUT', `Cannot read input ${path}: the model has no input '${name}'; inputs: ${specs.map((x) => x.name).join(', ')}`);
  return s;
}

function withBatch(t: TensorData, spec: TensorSpec): TensorData {
  return t.dims.length === spec.shape.length - 1 ? { ...t, dims: [1, ...t.dims] } : t;
}

function fromNested(value: Nested, spec: TensorSpec, path: string): TensorData {
  const dims: number[] = [];
  for (let v: Nested = value; Array.isArray(v); v = v[0]!) dims.push(v.length);
  const flat: (number | boolean)[] = [];
  const walk = (v: Nested, depth: number): void => {
    if (depth === dims.length) {
      if (typeof v !== 'number' && typeof v !== 'boolean') throw new EnclaveNnError('INPUT', `Cannot read input ${path}: '${spec.name}' holds a non-number`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== dims[depth]) throw new EnclaveNnError('INPUT', `Cannot read input ${path}: '${spec.name}' is not a rectangular array`);
    for (const x of v) walk(x, depth + 1);
  };
  walk(value, 0);
  const nums = flat.map(Number);
  let data: TensorData['data'];
  switch (spec.dtype) {
    case 'float32': data = Float32Array.from(nums); break;
    case 'float64': data = Float64Array.from(nums); break;
    case 'int32': data = Int32Array.from(nums); break;
    case 'int64': data = BigInt64Array.from(nums.map((n) => BigInt(Math.trunc(n)))); break;
    case 'uint8': case 'bool': data = Uint8Array.from(nums); break;
    default: throw new EnclaveNnError('INPUT', `Cannot read input ${path}: input '${spec.name}' is ${spec.dtype}, which JSON input does not support`);
  }
  return withBatch({ dtype: spec.dtype, dims, data }, spec);
}

/** Lines describing outputs: name, dtype and shape, values (first rows), argmax per row for classifiers. */
export function describeOutputs(outputs: Record<string, TensorData>): string {
  const lines: string[] = [];
  for (const [name, t] of Object.entries(outputs)) {
    lines.push(`${name} ${t.dtype}${formatShape(t.dims)}`);
    const rows = t.dims.length >= 2 ? t.dims[0]! : 1;
    const width = t.data.length / Math.max(rows, 1);
    const shown = Math.min(rows, 8);
    for (let r = 0; r < shown; r++) {
      const row = Array.from(t.data.slice(r * width, Math.min((r + 1) * width, r * width + 16)) as ArrayLike<number | bigint>, fmt);
      lines.push(`  ${row.join(' ')}${width > 16 ? ` … (${width} values)` : ''}`);
    }
    if (rows > shown) lines.push(`  … (${rows} rows)`);
    if (t.dims.length === 2 && t.dims[1]! >= 2 && (t.dtype === 'float32' || t.dtype === 'float64')) {
      const arg: number[] = [];
      for (let r = 0; r < rows; r++) {
        let best = 0;
        for (let c = 1; c < width; c++) if ((t.data[r * width + c] as number) > (t.data[r * width + best] as number)) best = c;
        arg.push(best);
      }
      lines.push(`  argmax: ${arg.join(' ')}`);
    }
  }
  return lines.join('\n') + '\n';
}

function fmt(v: number | bigint): string {
  return typeof v === 'bigint' ? v.toString() : Number.isInteger(v) ? String(v) : v.toPrecision(6);
}
