/**
 * Input and output files for `enclave-nn run`: `.npy` or JSON in, `.npy`/`.json`/`.csv` out, and a printable
 * summary (values, argmax for classifiers). Logic for the CLI, kept out of the command file.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { EnclaveNnError } from '../errors.ts';
import type { TensorData } from '../onnx/ort.ts';
import { formatShape, type TensorSpec } from '../onnx/tensor-spec.ts';
import { NpyFile, writeNpy } from './npy.ts';
import { sliceRows } from './rows.ts';

type Nested = number | boolean | Nested[];

/**
 * Input rows read on demand: `.npy` files are read a chunk of rows at a time (any number of
 * rows, never all in memory); JSON inputs are parsed whole (they are small by nature).
 */
export interface InputSource {
  /** Rows along the batch dimension (every input has the same count). */
  readonly rows: number;
  /** Rows `[start, start + count)` of every input, converted as {@link readInputs} describes. */
  read(start: number, count: number): Record<string, TensorData>;
  /** Closes the files. */
  close(): void;
}

/**
 * Opens `--input` arguments for reading by rows: `x.npy` / `x.json` for a single-input model,
 * or `name=x.npy` per input; a JSON file may also hold `{ "<input name>": nested arrays }`.
 * float64 and uint8 `.npy` data is converted value by value (no scaling) to float32 when the
 * model wants float32; other dtype mismatches are left to {@link checkFeeds}. A sample without
 * the batch dimension (rank one less than the input's) gets a batch of 1. Inputs whose row
 * counts differ are refused.
 */
export function openInputs(args: readonly string[], specs: readonly TensorSpec[]): InputSource {
  const parts: { name: string; rows: number; read: (start: number, count: number) => TensorData; close?: () => void }[] = [];
  const inMemory = (name: string, t: TensorData): void => {
    parts.push({ name, rows: t.dims[0] ?? 1, read: (start, count) => (start === 0 && count === (t.dims[0] ?? 1) ? t : sliceRows({ t }, start, count).t!) });
  };
  try {
    for (const arg of args) {
      const eq = arg.indexOf('=');
      const named = eq > 0 && !arg.slice(0, eq).includes('/') ? arg.slice(0, eq) : undefined;
      const path = named ? arg.slice(eq + 1) : arg;
      if (extname(path).toLowerCase() === '.json') {
        let value: unknown;
        try { value = JSON.parse(new TextDecoder().decode(readInputFile(path))); } catch (e) { throw e instanceof EnclaveNnError ? e : new EnclaveNnError('INPUT', `Cannot read input ${path}: not JSON (${(e as Error).message})`); }
        if (Array.isArray(value) || named) {
          const spec = specFor(named, specs, path);
          inMemory(spec.name, fromNested(value as Nested, spec, path));
        } else if (typeof value === 'object' && value !== null) {
          for (const [k, v] of Object.entries(value)) inMemory(k, fromNested(v as Nested, specFor(k, specs, path), path));
        } else {
          throw new EnclaveNnError('INPUT', `Cannot read input ${path}: expected a nested array or { "<input name>": nested array }`);
        }
      } else {
        const spec = specFor(named, specs, path);
        let f: NpyFile;
        try { f = NpyFile.open(path); } catch (e) {
          const why = e instanceof SyntaxError ? e.message : (e as NodeJS.ErrnoException).code ?? (e as Error).message;
          throw new EnclaveNnError('INPUT', `Cannot read input ${path}: ${why}`);
        }
        const unbatched = f.header.dims.length === spec.shape.length - 1;
        const convert = spec.dtype === 'float32' && (f.header.dtype === 'float64' || f.header.dtype === 'uint8');
        parts.push({
          name: spec.name, rows: unbatched ? 1 : f.rows, close: () => f.close(),
          read: (start, count) => {
            let t = unbatched ? f.readRows(0, f.rows) : f.readRows(start, count);
            if (convert) t = { dtype: 'float32', dims: t.dims, data: Float32Array.from(t.data as Float64Array) };
            return withBatch(t, spec);
          },
        });
      }
    }
    const rows = parts[0]?.rows ?? 0;
    const odd = parts.find((p) => p.rows !== rows);
    if (odd) throw new EnclaveNnError('INPUT', `Cannot read inputs: '${parts[0]!.name}' has ${rows} rows, '${odd.name}' has ${odd.rows}`);
  } catch (e) {
    for (const p of parts) p.close?.();
    throw e;
  }
  const rows = parts[0]?.rows ?? 0;
  return {
    rows,
    read: (start, count) => Object.fromEntries(parts.map((p) => [p.name, p.read(start, count)])),
    close: () => { for (const p of parts) p.close?.(); },
  };
}

/**
 * Reads `--input` arguments into feeds, whole (see {@link openInputs} for the forms and the
 * conversions).
 */
export function readInputs(args: readonly string[], specs: readonly TensorSpec[]): Record<string, TensorData> {
  const source = openInputs(args, specs);
  try {
    return source.read(0, source.rows);
  } finally {
    source.close();
  }
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
  for (let v: Nested = value; Array.isArray(v); v = v[0]!) {
    dims.push(v.length);
    // Deeper than the input's rank (a batch dimension may be missing) is refused before any
    // recursion: a 100,000-deep array must be one line, not a stack overflow.
    if (dims.length > spec.shape.length) throw new EnclaveNnError('INPUT', `Cannot read input ${path}: '${spec.name}' nests arrays deeper than its rank ${spec.shape.length}`);
  }
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

/** Output file formats, by the extension of `--output`. */
export const OUTPUT_FORMATS = ['.npy', '.json', '.csv'] as const;

/**
 * Encodes outputs as files, by the extension of `path`: `.npy` (one file per output; several
 * outputs go to `y.<name>.npy`), `.json` (one file: `{ "<name>": { dtype, dims, data } }`, int64
 * values as strings) or `.csv` (one file per output, as `.npy`; a header row `name_0,name_1,…`,
 * then one line per row of the batch). Throws a usage error for another extension.
 */
export function encodeOutputs(path: string, outputs: Record<string, TensorData>): { path: string; bytes: Uint8Array | string }[] {
  const ext = extname(path).toLowerCase();
  if (!(OUTPUT_FORMATS as readonly string[]).includes(ext)) {
    throw new EnclaveNnError('USAGE', `Cannot write outputs to ${path}: unknown format '${ext || '(no extension)'}'; known: ${OUTPUT_FORMATS.join(', ')}`);
  }
  if (ext === '.json') return [{ path, bytes: outputsJson(outputs) + '\n' }];
  const encode = ext === '.npy' ? writeNpy : csvOf;
  const names = Object.keys(outputs);
  if (names.length === 1) return [{ path, bytes: encode(outputs[names[0]!]!, names[0]!) }];
  return names.map((n) => ({ path: join(dirname(path), `${basename(path, extname(path))}.${n.replace(/[^A-Za-z0-9._-]/g, '_')}${ext}`), bytes: encode(outputs[n]!, n) }));
}

/** Outputs as JSON text: `{ "<name>": { dtype, dims, data } }`, int64 values as strings. */
export function outputsJson(outputs: Record<string, TensorData>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(outputs).map(([k, t]) => [k, { dtype: t.dtype, dims: t.dims, data: Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? v.toString() : v)) }])));
}

function csvOf(t: TensorData, name: string): string {
  const rows = t.dims.length >= 1 ? t.dims[0]! : 1;
  const width = rows > 0 ? t.data.length / rows : 0;
  const head = t.dims.length <= 1 ? [name] : Array.from({ length: width }, (_, i) => `${name}_${i}`);
  const lines = [head.join(',')];
  for (let r = 0; r < rows; r++) lines.push(Array.from(t.data.subarray(r * width, (r + 1) * width) as ArrayLike<number | bigint>, String).join(','));
  return lines.join('\n') + '\n';
}

/**
 * Lines describing outputs: name, dtype and shape, values (first rows), argmax per row for
 * classifiers — not for a top-k output (`<name>` with a `<name>_classes` beside it: its scores are
 * sorted, so their argmax is always 0; the classes are the other output).
 */
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
    if (t.dims.length === 2 && t.dims[1]! >= 2 && (t.dtype === 'float32' || t.dtype === 'float64') && !(`${name}_classes` in outputs)) {
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
