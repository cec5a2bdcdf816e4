/**
 * Model-stealing evaluation per split (docs/attack.md): how much of a model an attacker who
 * holds the public head and can query the enclave steals, beside each split's cost.
 *
 * - {@link evaluateProtection}: the evaluator — every split sealed, run in an enclave, attacked
 *   and scored (accuracy, fidelity, ratio), costs from a bench report, a recommendation
 * - {@link stealTail}: the attacker — given only an {@link AttackSurface} (public head, public
 *   header, outputs-only queries), trains generic or true-architecture substitutes
 * - {@link architectureOf}: the tail's architecture without weights (the worst-case attacker's hint)
 * - {@link writeAttackReport}: attack.json/csv/md, charts and the bench HTML report, atomically
 * - `.npy` files: {@link readNpy}, {@link writeNpy}
 *
 * @example
 * ```ts
 * import { evaluateProtection } from './attack/index.ts';
 * const report = await evaluateProtection(model, { data: { x }, test: { inputs: { x: xt }, labels }, queries: [50, 500] });
 * ```
 * @module
 */
export type * from './types.ts';
export { evaluateProtection, recommend, publicQuery, outputLabels, type EvaluateOptions } from './evaluate.ts';
export { stealTail, PublicHead, targetsFrom } from './attacker.ts';
export { architectureOf } from './skeleton.ts';
export { attackCsv, attackMarkdown, attackTable, attackCharts, writeAttackReport, ATTACK_CSV_COLUMNS } from './report.ts';
export { readNpy, writeNpy, parseNpy, encodeNpy } from './npy.ts';
