/**
 * The Shapiro–Wilk W statistic (Shapiro & Wilk 1965), with the coefficients of Royston's
 * approximation: J. P. Royston, "Remark AS R94: A remark on algorithm AS 181: the W-test for
 * normality", Applied Statistics 44 (1995) 547–551 — the algorithm SciPy's `shapiro` and R's
 * `shapiro.test` run (valid for 3 ≤ n ≤ 5000). Trusted code: no dependencies, W only (the
 * extraction monitor compares W to a threshold; it needs no p-value).
 */

/** Largest sample Royston's approximation covers. */
export const SHAPIRO_WILK_MAX_N = 5000;

// Royston's polynomial coefficients for the two largest coefficients a_n, a_(n−1) (AS R94, c1 and c2).
const C1 = [0, 0.221157, -0.147981, -2.07119, 4.434685, -2.706056];
const C2 = [0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633];

const poly = (c: readonly number[], x: number): number => c.reduceRight((acc, ci) => acc * x + ci, 0);

/**
 * W of the sample `x` (3 ≤ x.length ≤ 5000; the order of `x` does not matter, `x` is not
 * changed). W lies in (0, 1]; near 1 the sample looks normal. A sample whose values are all
 * equal has W = 1 by convention here (SciPy answers 1 too, with a warning). Throws RangeError
 * outside the sizes Royston's approximation covers.
 *
 * @example
 * ```ts
 * shapiroWilkW([148, 154, 158, 160, 161, 162, 166, 170, 182, 195, 236]); // ≈ 0.7888 (SciPy: 0.78881)
 * ```
 */
export function shapiroWilkW(x: ArrayLike<number>): number {
  const n = x.length;
  if (n < 3 || n > SHAPIRO_WILK_MAX_N) throw new RangeError(`Shapiro–Wilk needs 3 to ${SHAPIRO_WILK_MAX_N} values, got ${n}`);
  const s = Float64Array.from(x).sort();
  const a = shapiroWilkCoefficients(n);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += s[i]!;
  mean /= n;
  let ssq = 0;
  let num = 0;
  for (let i = 0; i < n; i++) {
    const d = s[i]! - mean;
    ssq += d * d;
    num += a[i]! * s[i]!;
  }
  if (!(ssq > 0)) return 1;
  return Math.min(1, (num * num) / ssq);
}

/** The n antisymmetric coefficients a_1 … a_n (a_i = −a_(n+1−i), Σ a_i² = 1), cached by n. */
const cache = new Map<number, Float64Array>();
function shapiroWilkCoefficients(n: number): Float64Array {
  const hit = cache.get(n);
  if (hit) return hit;
  const a = new Float64Array(n);
  const half = Math.floor(n / 2);
  if (n === 3) {
    a[2] = Math.SQRT1_2;
  } else {
    // m_i = Φ⁻¹((i − 3/8) / (n + 1/4)): Blom's approximation of the expected normal order statistics.
    const m = new Float64Array(n);
    let summ2 = 0;
    for (let i = 0; i < n; i++) { m[i] = normalQuantile((i + 1 - 0.375) / (n + 0.25)); summ2 += m[i]! ** 2; }
    const ssumm2 = Math.sqrt(summ2);
    const u = 1 / Math.sqrt(n);
    const an = m[n - 1]! / ssumm2 + poly(C1, u);
    a[n - 1] = an;
    let first: number;
    let phi: number;
    if (n > 5) {
      const an1 = m[n - 2]! / ssumm2 + poly(C2, u);
      a[n - 2] = an1;
      phi = (summ2 - 2 * m[n - 1]! ** 2 - 2 * m[n - 2]! ** 2) / (1 - 2 * an ** 2 - 2 * an1 ** 2);
      first = n - 3;
    } else {
      phi = (summ2 - 2 * m[n - 1]! ** 2) / (1 - 2 * an ** 2);
      first = n - 2;
    }
    const root = Math.sqrt(phi);
    for (let i = first; i >= n - half; i--) a[i] = m[i]! / root;
  }
  for (let i = 0; i < half; i++) a[i] = -a[n - 1 - i]!;
  if (cache.size > 64) cache.clear(); // the monitor uses a handful of sizes; keep the cache small
  cache.set(n, a);
  return a;
}

/**
 * Φ⁻¹(p), the standard normal quantile, for 0 < p < 1: Wichura's algorithm AS 241 (PPND16,
 * Applied Statistics 37, 1988), relative error about 1e-16.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs 0 < p < 1, got ${p}`);
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return q * poly([3.387132872796366608, 133.14166789178437745, 1971.5909503065514427, 13731.693765509461125, 45921.953931549871457, 67265.770927008700853, 33430.575583588128105, 2509.0809287301226727], r)
      / poly([1, 42.313330701600911252, 687.1870074920579083, 5394.1960214247511077, 21213.794301586595867, 39307.89580009271061, 28729.085735721942674, 5226.495278852545925], r);
  }
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  let v: number;
  if (r <= 5) {
    r -= 1.6;
    v = poly([1.42343711074968357734, 4.6303378461565452959, 5.7694972214606914055, 3.64784832476320460504, 1.27045825245236838258, 0.24178072517745061177, 0.0227238449892691845833, 7.7454501427834140764e-4], r)
      / poly([1, 2.05319162663775882187, 1.6763848301838038494, 0.68976733498510000455, 0.14810397642748007459, 0.0151986665636164571966, 5.475938084995344946e-4, 1.05075007164441684324e-9], r);
  } else {
    r -= 5;
    v = poly([6.6579046435011037772, 5.4637849111641143699, 1.7848265399172913358, 0.29656057182850489123, 0.026532189526576123093, 0.0012426609473880784386, 2.71155556874348757815e-5, 2.01033439929228813265e-7], r)
      / poly([1, 0.59983220655588793769, 0.13692988092273580531, 0.0148753612908506148525, 7.868691311456132591e-4, 1.8463183175100546818e-5, 1.4215117583164458887e-7, 2.04426310338993978564e-15], r);
  }
  return q < 0 ? -v : v;
}
