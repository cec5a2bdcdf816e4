import { EnclaveNnError } from '../errors.ts';
import type { KerasLayer } from './types.ts';

/**
 * Typed reads of a Keras layer config (snake_case, as on disk). Keras 2, Keras 3 and tfjs-layers
 * differ in small ways (an int or a tuple, `alpha` or `negative_slope`); these accessors absorb them.
 */

/** A config error naming the layer. */
export function configError(layer: KerasLayer, what: string): EnclaveNnError {
  return new EnclaveNnError('IMPORT_CONFIG', `Cannot import layer '${layer.name}' (${layer.className}): ${what}`);
}

/** A config value, with numpy scalars (`{ type: 'ndarray', value }`, as Keras 2.1 wrote some floats) unwrapped. */
function plain(layer: KerasLayer, key: string): unknown {
  const v = layer.config[key];
  if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'ndarray') return (v as { value?: unknown }).value;
  return v;
}

/** A number field, or `fallback` when absent/null. */
export function num(layer: KerasLayer, key: string, fallback?: number): number {
  const v = plain(layer, key);
  if (v === undefined || v === null) {
    if (fallback === undefined) throw configError(layer, `missing '${key}'`);
    return fallback;
  }
  if (typeof v !== 'number') throw configError(layer, `'${key}' is not a number`);
  return v;
}

/** A number field that may be absent/null (→ undefined). */
export function optNum(layer: KerasLayer, key: string): number | undefined {
  const v = plain(layer, key);
  return typeof v === 'number' ? v : undefined;
}

/** A string field, or `fallback`. */
export function str(layer: KerasLayer, key: string, fallback: string): string {
  const v = layer.config[key];
  return typeof v === 'string' ? v : fallback;
}

/** A boolean field, or `fallback`. */
export function bool(layer: KerasLayer, key: string, fallback: boolean): boolean {
  const v = layer.config[key];
  return typeof v === 'boolean' ? v : fallback;
}

/** An int or a tuple of ints, expanded to `n` entries (`kernel_size: 3` → `[3, 3]`). */
export function tuple(layer: KerasLayer, key: string, n: number, fallback?: number | number[]): number[] {
  let v = layer.config[key] as unknown;
  if (v === undefined || v === null) v = fallback;
  if (typeof v === 'number') return Array.from({ length: n }, () => v as number);
  if (Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number')) return v as number[];
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'number') return Array.from({ length: n }, () => v[0] as number);
  throw configError(layer, `'${key}' must be an int or ${n} ints, got ${JSON.stringify(v)}`);
}

/** The layer's `data_format`: true for channels-last (the Keras default). */
export function channelsLast(layer: KerasLayer): boolean {
  const f = str(layer, 'data_format', 'channels_last');
  if (f === 'channels_last' || f === 'channelsLast') return true;
  if (f === 'channels_first' || f === 'channelsFirst') return false;
  throw configError(layer, `unknown data_format '${f}'`);
}

/** The layer's `activation` name (Keras 3 may store a serialized object), 'linear' when absent. */
export function activationName(layer: KerasLayer, key = 'activation'): string {
  const v = layer.config[key] as unknown;
  if (v === undefined || v === null) return 'linear';
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && 'config' in v) {
    const o = v as { class_name?: string; config?: { name?: string } | string };
    if (typeof o.config === 'string') return o.config;
    if (o.config?.name) return o.config.name;
    if (o.class_name) return o.class_name;
  }
  throw configError(layer, `cannot read '${key}' ${JSON.stringify(v)}`);
}

/** Normalizes an axis (negative counts from the end) for a tensor of rank `rank`. */
export function normAxis(layer: KerasLayer, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw configError(layer, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** The dtype name of a config's `dtype` (a string, or a Keras 3 DTypePolicy object). */
export function dtypeName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null) {
    const c = (v as { config?: { name?: string } }).config;
    if (c?.name) return c.name;
  }
  return undefined;
}
