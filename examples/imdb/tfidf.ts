/**
 * A deterministic TF-IDF vectorizer over word unigrams and bigrams (the IMDB example's input
 * layer; the same numbers for the same texts on every machine and run).
 *
 * Definition (all of it; `vectorizer.json` records the parameters):
 * 1. **Text → tokens.** Replace HTML tags (`<[^>]*>`, IMDB's `<br />`) by a space, lower-case
 *    (`String.prototype.toLowerCase`, locale-independent), then take every maximal run of two
 *    or more Unicode letters, digits or underscores (`/[\p{L}\p{N}_]{2,}/gu`; scikit-learn's
 *    default `\b\w\w+\b`). So "Don't" → "don" (the lone "t" is dropped).
 * 2. **Tokens → terms.** Every token (unigram) and every pair of consecutive tokens joined by
 *    one space (bigram).
 * 3. **Vocabulary (fit, on the training texts only).** Document frequency df(t) = number of
 *    training texts containing t. Terms with df < `minDf` (2) are dropped. The `maxFeatures`
 *    (20,000) terms with the highest df are kept; ties are broken by the term in ascending
 *    UTF-16 code-unit order (JS `<`). Feature index = rank in that order.
 * 4. **idf** (smoothed, as scikit-learn): idf(t) = ln((1 + n) / (1 + df(t))) + 1, n = number of
 *    training texts.
 * 5. **Vector of a text.** tf = raw count of the term in the text (no sublinear scaling);
 *    value = tf · idf; terms outside the vocabulary are ignored; the vector is scaled to unit
 *    L2 norm (an all-zero vector stays zero). Values are float32.
 *
 * @example
 * ```ts
 * const v = fitTfidf(trainTexts, { maxFeatures: 20000 });
 * const row = transformTfidf(v, 'A great film!');   // sparse: indices ascending, values
 * ```
 * @module
 */

/** Options of {@link fitTfidf}. */
export interface TfidfOptions {
  /** features kept @defaultValue 20000 */
  maxFeatures?: number;
  /** minimum document frequency @defaultValue 2 */
  minDf?: number;
}

/** A fitted vectorizer, as stored in `vectorizer.json`. */
export interface TfidfVectorizer {
  /** format marker */
  kind: 'enclave-nn/tfidf';
  /** format version */
  version: 1;
  /** the fixed pipeline of steps 1–2 */
  tokenizer: 'strip-html,lowercase,/[\\p{L}\\p{N}_]{2,}/gu';
  /** n-gram orders */
  ngramRange: [1, 2];
  /** minimum df used at fit time */
  minDf: number;
  /** false: raw counts */
  sublinearTf: false;
  /** 'l2' */
  norm: 'l2';
  /** training texts the df was counted on */
  documentCount: number;
  /** feature index → term */
  vocabulary: string[];
  /** feature index → idf */
  idf: number[];
}

/** A sparse row: feature indices (ascending) and their values. */
export interface SparseRow {
  /** ascending feature indices */
  indices: Int32Array;
  /** float32 values, same length */
  values: Float32Array;
}

/**
 * Step 1: the tokens of a text.
 *
 * @param text raw text
 */
export function tokenize(text: string): string[] {
  return text.replace(/<[^>]*>/g, ' ').toLowerCase().match(/[\p{L}\p{N}_]{2,}/gu) ?? [];
}

/**
 * Step 2: the unigrams and bigrams of a text, with repetitions.
 *
 * @param text raw text
 */
export function terms(text: string): string[] {
  const toks = tokenize(text);
  const out = toks.slice();
  for (let i = 0; i + 1 < toks.length; i++) out.push(`${toks[i]} ${toks[i + 1]}`);
  return out;
}

/**
 * Steps 3–4: fits the vocabulary and idf on training texts.
 *
 * @param texts the training texts
 * @param opts maxFeatures, minDf
 */
export function fitTfidf(texts: Iterable<string>, opts: TfidfOptions = {}): TfidfVectorizer {
  const maxFeatures = opts.maxFeatures ?? 20000;
  const minDf = opts.minDf ?? 2;
  const df = new Map<string, number>();
  let n = 0;
  for (const text of texts) {
    n++;
    for (const t of new Set(terms(text))) df.set(t, (df.get(t) ?? 0) + 1);
  }
  const kept: Array<[string, number]> = [];
  for (const [t, d] of df) if (d >= minDf) kept.push([t, d]);
  kept.sort((a, b) => (b[1] - a[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const top = kept.slice(0, maxFeatures);
  return {
    kind: 'enclave-nn/tfidf', version: 1, tokenizer: 'strip-html,lowercase,/[\\p{L}\\p{N}_]{2,}/gu',
    ngramRange: [1, 2], minDf, sublinearTf: false, norm: 'l2', documentCount: n,
    vocabulary: top.map(([t]) => t),
    idf: top.map(([, d]) => Math.log((1 + n) / (1 + d)) + 1),
  };
}

/** Term → index lookups, built once per vectorizer. */
const indexCache = new WeakMap<TfidfVectorizer, Map<string, number>>();

/**
 * Step 5: the sparse TF-IDF row of one text.
 *
 * @param v a fitted vectorizer
 * @param text raw text
 */
export function transformTfidf(v: TfidfVectorizer, text: string): SparseRow {
  let index = indexCache.get(v);
  if (index === undefined) {
    index = new Map(v.vocabulary.map((t, i) => [t, i]));
    indexCache.set(v, index);
  }
  const counts = new Map<number, number>();
  for (const t of terms(text)) {
    const i = index.get(t);
    if (i !== undefined) counts.set(i, (counts.get(i) ?? 0) + 1);
  }
  const indices = Int32Array.from([...counts.keys()].sort((a, b) => a - b));
  const raw = Array.from(indices, (i) => (counts.get(i) as number) * v.idf[i]);
  const norm = Math.sqrt(raw.reduce((s, x) => s + x * x, 0));
  const values = Float32Array.from(raw, (x) => (norm > 0 ? x / norm : 0));
  return { indices, values };
}

/**
 * Writes sparse rows into a dense row-major float32 matrix [rows.length, features].
 *
 * @param rows sparse rows
 * @param features vocabulary size
 */
export function densify(rows: SparseRow[], features: number): Float32Array {
  const out = new Float32Array(rows.length * features);
  rows.forEach((r, k) => { for (let j = 0; j < r.indices.length; j++) out[k * features + r.indices[j]] = r.values[j]; });
  return out;
}
