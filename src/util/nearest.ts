/**
 * Lists for error messages: a short list whole, a long one cut to the names nearest to what
 * was asked (edit distance) plus how many more there are — so that an unknown name in a
 * 300-layer model gives one readable line.
 */

/**
 * `names` joined with ", " when there are at most `max`; otherwise the `max` nearest to `want`
 * (Levenshtein distance, case-insensitive; ties keep the original order) and `… (N more)`.
 *
 * @example
 * ```ts
 * nearestList('dense_2', layerNames); // "dense_1, dense_3, dense, … (297 more)"
 * ```
 */
export function nearestList(want: string, names: readonly string[], max = 8): string {
  if (names.length <= max) return names.join(', ');
  const w = want.toLowerCase();
  const ranked = names.map((n, i) => ({ n, i, d: editDistance(w, n.toLowerCase()) })).sort((a, b) => a.d - b.d || a.i - b.i);
  return `${ranked.slice(0, max).map((r) => r.n).join(', ')}, … (${names.length - max} more)`;
}

/** Levenshtein distance between two strings. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
