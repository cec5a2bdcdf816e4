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
 *    training texts containing t. Terms with df < `minDf` (2) are dropped. Then one of two
 *    selections of `maxFeatures` (20,000) terms:
 *    - `selection: 'df'` (version 1 files): the terms with the highest df; ties are broken by the
 *      term in ascending UTF-16 code-unit order (JS `<`). Feature index = rank in that order.
 *    - `selection: 'f_classif'` (version 2 files; the eNNclave experiments' IMDB pipeline:
 *      scikit-learn `TfidfVectorizer(ngram_range=(1, 2), min_df=2)` then
 *      `SelectKBest(f_classif, k=20000)`): every kept term is a column, in ascending code-unit
 *      order (scikit-learn's sorted vocabulary); each column's ANOVA F statistic between the two
 *      classes over the training rows of step 5 (below, computed over all columns) is
 *      F = (SSB / 1) / (SSW / (n − 2)); the `maxFeatures` columns with the highest F are kept
 *      (ties: the later column wins, as NumPy's stable argsort in SelectKBest) and keep their
 *      column order. The other columns still count towards each row's L2 norm, as they do in
 *      scikit-learn, where the norm is taken before the selection: the file lists them and their
 *      idf (`normTerms`, `normIdf`).
 * 4. **idf** (smoothed, as scikit-learn): idf(t) = ln((1 + n) / (1 + df(t))) + 1, n = number of
 *    training texts.
 * 5. **Vector of a text.** tf = raw count of the term in the text (no sublinear scaling);
 *    value = tf · idf; the vector is scaled to unit L2 norm over the vocabulary (plus, in version 2,
 *    the `normTerms`; an all-zero vector stays zero); terms outside it are ignored. Values are
 *    float32.
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
  /** how the features are chosen (see step 3) @defaultValue 'df' */
  selection?: 'df' | 'f_classif';
  /** 0/1 class of each training text, same order; required by `selection: 'f_classif'` */
  labels?: ArrayLike<number>;
}

/** A fitted vectorizer, as stored in `vectorizer.json`. */
export interface TfidfVectorizer {
  /** format marker */
  kind: 'enclave-nn/tfidf';
  /** format version: 1 = df selection, 2 = f_classif selection (step 3) */
  version: 1 | 2;
  /** step 3's selection (absent in version 1 files: 'df') */
  selection?: 'df' | 'f_classif';
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
  /** version 2: the unselected terms, which count only towards a row's L2 norm */
  normTerms?: string[];
  /** version 2: their idf, same order */
  normIdf?: number[];
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
  const all: string[] = [];
  let n = 0;
  for (const text of texts) {
    n++;
    if (opts.selection === 'f_classif') all.push(text);
    for (const t of new Set(terms(text))) df.set(t, (df.get(t) ?? 0) + 1);
  }
  const kept: Array<[string, number]> = [];
  for (const [t, d] of df) if (d >= minDf) kept.push([t, d]);
  const idfOf = (d: number) => Math.log((1 + n) / (1 + d)) + 1;
  const base: Omit<TfidfVectorizer, 'version' | 'vocabulary' | 'idf'> = { kind: 'enclave-nn/tfidf',
    tokenizer: 'strip-html,lowercase,/[\\p{L}\\p{N}_]{2,}/gu', ngramRange: [1, 2], minDf, sublinearTf: false, norm: 'l2', documentCount: n };
  if (opts.selection === 'f_classif') return selectByFClassif(all, opts.labels, kept, idfOf, maxFeatures, base);
  kept.sort((a, b) => (b[1] - a[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const top = kept.slice(0, maxFeatures);
  return { ...base, version: 1, vocabulary: top.map(([t]) => t), idf: top.map(([, d]) => idfOf(d)) };
}

/** Step 3's f_classif selection over the full vocabulary `kept` (term, df). */
function selectByFClassif(texts: string[], labels: ArrayLike<number> | undefined, kept: Array<[string, number]>,
  idfOf: (df: number) => number, maxFeatures: number, base: Omit<TfidfVectorizer, 'version' | 'vocabulary' | 'idf'>): TfidfVectorizer {
  if (labels === undefined || labels.length !== texts.length) {
    throw new RangeError(`fitTfidf: selection 'f_classif' needs one 0/1 label per text (${texts.length} texts, ${labels?.length ?? 0} labels)`);
  }
  kept.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const full: TfidfVectorizer = { ...base, version: 1, vocabulary: kept.map(([t]) => t), idf: kept.map(([, d]) => idfOf(d)) };
  const m = kept.length;
  const sum = [new Float64Array(m), new Float64Array(m)];
  const sumSq = new Float64Array(m);
  const count = [0, 0];
  texts.forEach((text, i) => {
    const c = labels[i] === 1 ? 1 : 0;
    count[c]++;
    const row = transformTfidf(full, text);
    for (let j = 0; j < row.indices.length; j++) {
      const v = row.values[j]; // float32, as scikit-learn's dtype=np.float32 rows
      sum[c][row.indices[j]] += v;
      sumSq[row.indices[j]] += v * v;
    }
  });
  const n = texts.length;
  const score = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    const total = sum[0][j] + sum[1][j];
    const sst = sumSq[j] - (total * total) / n;
    const ssb = (sum[0][j] ** 2) / count[0] + (sum[1][j] ** 2) / count[1] - (total * total) / n;
    score[j] = ssb / ((sst - ssb) / (n - 2));
  }
  const order = Array.from({ length: m }, (_, j) => j).sort((a, b) => (score[b] - score[a]) || (b - a));
  const chosen = new Uint8Array(m);
  for (const j of order.slice(0, maxFeatures)) chosen[j] = 1;
  const pick = (keep: number) => kept.flatMap(([t, d], j) => (chosen[j] === keep ? [[t, idfOf(d)] as const] : []));
  const sel = pick(1), rest = pick(0);
  return { ...base, version: 2, selection: 'f_classif', vocabulary: sel.map(([t]) => t), idf: sel.map(([, v]) => v),
    normTerms: rest.map(([t]) => t), normIdf: rest.map(([, v]) => v) };
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
    // Columns ≥ vocabulary.length are version 2's norm-only terms.
    index = new Map([...v.vocabulary, ...(v.normTerms ?? [])].map((t, i) => [t, i]));
    indexCache.set(v, index);
  }
  const width = v.vocabulary.length;
  const idfAt = (i: number) => (i < width ? v.idf[i] : (v.normIdf as number[])[i - width]);
  const counts = new Map<number, number>();
  for (const t of terms(text)) {
    const i = index.get(t);
    if (i !== undefined) counts.set(i, (counts.get(i) ?? 0) + 1);
  }
  let norm2 = 0;
  for (const [i, c] of counts) norm2 += (c * idfAt(i)) ** 2;
  const norm = Math.sqrt(norm2);
  const indices = Int32Array.from([...counts.keys()].filter((i) => i < width).sort((a, b) => a - b));
  const values = Float32Array.from(indices, (i) => (norm > 0 ? ((counts.get(i) as number) * v.idf[i]) / norm : 0));
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
