/** A sample of timings (milliseconds) summarized: the median and its spread. */
export interface Stat {
  median: number;
  /** 10th and 90th percentiles: the spread quoted beside the median. */
  p10: number;
  p90: number;
  min: number;
  max: number;
  n: number;
}

/** Linear-interpolated quantile of sorted values. */
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Summarizes a sample. An empty sample gives NaN everywhere (printed as '-'). */
export function summarize(values: number[]): Stat {
  const s = [...values].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), p10: quantile(s, 0.1), p90: quantile(s, 0.9), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, n: s.length };
}

/**
 * The middle value of a sample: the element at index ⌊n/2⌋ once sorted (for an even n the upper
 * of the two middle ones, not their mean — what the benchmark scripts have always quoted); NaN
 * for an empty sample.
 *
 * @example
 * ```ts
 * middleValue([3, 1, 2, 10]); // 3
 * ```
 */
export function middleValue(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
}

/** Milliseconds since an origin, from the monotonic high-resolution clock. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Formats milliseconds with a unit that keeps three significant digits: µs below 1 ms. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1) return `${(ms * 1000).toPrecision(3)} µs`;
  if (ms < 1000) return `${ms.toPrecision(3)} ms`;
  return `${(ms / 1000).toPrecision(3)} s`;
}
