import type { SplitMeasurement, TargetCheck } from '../report/types.ts';

/**
 * The performance targets of DESIGN.md, evaluated on measured splits (k ≥ 1). A missed target
 * is reported with its values, never hidden.
 */
export function evaluateTargets(splits: SplitMeasurement[], t_full: number, batch: number, engine: string): TargetCheck[] {
  const priv = splits.filter((s) => s.k > 0);
  const check = (name: string, bound: string, f: (s: SplitMeasurement) => { value: number; limit: number }): TargetCheck => {
    const rows = priv.map((s) => {
      const { value, limit } = f(s);
      return { k: s.k, value, limit, met: value <= limit };
    });
    return { name, bound, rows, met: rows.every((r) => r.met) };
  };
  const out: TargetCheck[] = [
    batch >= 64
      ? check('TEE impact', '≤ 1.05 (batch ≥ 64)', (s) => ({ value: s.tee_impact, limit: 1.05 }))
      : check('TEE impact', '≤ 1.05 + 40 µs / t_native', (s) => ({ value: s.tee_impact, limit: 1.05 + 0.04 / s.t_native.median })),
    check('End to end', '≤ 1.10 + 60 µs / t_full', (s) => ({ value: s.end_to_end, limit: 1.1 + 0.06 / t_full })),
    ...(priv.some((s) => s.t_enclave_cold && s.t_native_cold)
      ? [check('Cold round trip (first call after ≥ 10 ms idle)', '≤ t_native_cold + 150 µs', (s) => ({ value: s.t_enclave_cold?.median ?? NaN, limit: (s.t_native_cold?.median ?? NaN) + 0.15 }))]
      : []),
    ...(priv.some((s) => s.throughput?.some((t) => t.batch === 64))
      ? [check('Throughput at batch 64, native / enclave', '≤ 1/0.95 (enclave ≥ 0.95 × native)', (s) => {
        const t = s.throughput?.find((x) => x.batch === 64);
        return { value: t ? t.native_samples_per_s / t.enclave_samples_per_s : NaN, limit: 1 / 0.95 };
      })]
      : []),
    check('Enclave setup (spawn → ready)', '≤ 150 ms', (s) => ({ value: s.setup.ready_total, limit: 150 })),
    ...(priv.some((s) => s.setup.prewarmed !== undefined)
      ? [check('Setup waited when prewarmed (attest → ready)', '≤ 40 ms', (s) => ({ value: s.setup.prewarmed ?? NaN, limit: 40 }))]
      : []),
    check('Correctness: max abs diff', '≤ 1e-5', (s) => ({ value: s.max_abs_diff, limit: 1e-5 })),
    check('Correctness: labels equal', 'all equal', (s) => ({ value: s.labels_equal ? 0 : 1, limit: 0 })),
  ];
  if (engine === 'ort') out.splice(1, 0, check('CPU impact', '≤ 1.10 (ORT engine)', (s) => ({ value: s.cpu_impact, limit: 1.1 })));
  return out;
}
