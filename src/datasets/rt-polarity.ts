/**
 * Rotten Tomatoes sentence polarity v1.0 (../shared/datasets/rt-polarity): 5,331 positive and
 * 5,331 negative snippets, already lower-cased and space-tokenised, Windows-1252 bytes.
 *
 * - Reading: bytes decoded as latin1 and split on '\n' only (the files contain 0x85, a line
 *   break to Unicode-aware splitters; see the dataset's PROVENANCE.md); the trailing empty line
 *   is dropped. Tokens: split on runs of whitespace.
 * - Split: all 10,662 snippets (pos first, then neg) permuted by a seeded Fisher–Yates shuffle
 *   (mulberry32(seed)); the first 10 % (1,066) are the test set, the rest the training set.
 * - Vocabulary (Keras `Tokenizer(num_words=20000)` semantics, fitted on the training split):
 *   words ranked by count, descending, ties by the word in ascending code-unit order; rank r gets
 *   index r + 1 (0 is padding) for r + 1 < 20,000; other words are dropped.
 * - Sequences: length L = the longest training sentence (in kept tokens), capped at 500; shorter
 *   ones are padded with 0 in front, longer ones keep their last L tokens (Keras
 *   `pad_sequences` defaults 'pre'/'pre').
 *
 * @example
 * ```ts
 * const d = loadRtPolarity();
 * const x = tf.tensor2d(d.test.x, [d.test.count, d.maxLength]);   // float32 token ids
 * ```
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetDir } from './dataset-dir.ts';
import { seededPermutation } from '../tfjs/setup.ts';

/** Vocabulary size limit (including the padding index 0). */
export const RT_NUM_WORDS = 20000;
/** Sequence length cap. */
export const RT_MAX_LENGTH_CAP = 500;

/** One encoded split. */
export interface RtSplit {
  /** token ids as float32, row-major [count, maxLength] */
  x: Float32Array;
  /** 1 = positive, 0 = negative */
  labels: Uint8Array;
  /** rows */
  count: number;
  /** the raw sentences */
  texts: string[];
}

/** The dataset, split, tokenised and encoded. */
export interface RtPolarity {
  train: RtSplit;
  test: RtSplit;
  /** index − 1 → word (index 0 is padding) */
  words: string[];
  /** embedding input_dim = words.length + 1 */
  vocabSize: number;
  /** sequence length L */
  maxLength: number;
}

function readLines(path: string): string[] {
  const lines = readFileSync(path).toString('latin1').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Splits a snippet into tokens (runs of non-whitespace). */
export function rtTokens(text: string): string[] {
  return text.split(/\s+/).filter((t) => t.length > 0);
}

/**
 * Loads, splits and encodes the dataset.
 *
 * @param seed split seed @defaultValue 42
 */
export function loadRtPolarity(seed = 42): RtPolarity {
  const dir = datasetDir('rt-polarity');
  const pos = readLines(join(dir, 'rt-polarity.pos'));
  const neg = readLines(join(dir, 'rt-polarity.neg'));
  const texts = [...pos, ...neg];
  const labels = [...pos.map(() => 1), ...neg.map(() => 0)];
  const perm = seededPermutation(texts.length, seed);
  const nTest = Math.floor(texts.length / 10);
  const testIdx = Array.from(perm.subarray(0, nTest));
  const trainIdx = Array.from(perm.subarray(nTest));
  const counts = new Map<string, number>();
  for (const i of trainIdx) for (const w of rtTokens(texts[i])) counts.set(w, (counts.get(w) ?? 0) + 1);
  const ranked = [...counts].sort((a, b) => (b[1] - a[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const words = ranked.slice(0, RT_NUM_WORDS - 1).map(([w]) => w);
  const index = indexOf(words);
  const maxLength = Math.min(RT_MAX_LENGTH_CAP, Math.max(...trainIdx.map((i) => idsOf(index, rtTokens(texts[i])).length)));
  const encode = rtEncoder({ words, maxLength });
  const split = (idx: number[]): RtSplit => {
    const x = new Float32Array(idx.length * maxLength);
    idx.forEach((i, r) => x.set(encode(rtTokens(texts[i])), r * maxLength));
    return { x, labels: Uint8Array.from(idx, (i) => labels[i]), count: idx.length, texts: idx.map((i) => texts[i]) };
  };
  return { train: split(trainIdx), test: split(testIdx), words, vocabSize: words.length + 1, maxLength };
}

/** word → index (rank + 1; 0 is padding). */
const indexOf = (words: string[]) => new Map(words.map((w, i) => [w, i + 1]));
/** The indices of the tokens in the vocabulary, unknown words dropped. */
const idsOf = (index: Map<string, number>, tokens: string[]) => tokens.map((w) => index.get(w)).filter((i): i is number => i !== undefined);

/**
 * The loader's encoding as a function, for any tokens: their indices in the vocabulary of `d`
 * (unknown words dropped), pre-padded with 0 to `d.maxLength`; a longer sequence keeps its last
 * `d.maxLength` ids (Keras `pad_sequences` 'pre'/'pre', as the dataset's own rows).
 *
 * @example
 * ```ts
 * const encode = rtEncoder(loadRtPolarity());
 * const row = encode(rtStyleTokens('A <b>great</b> film!')); // float32 [maxLength]
 * ```
 */
export function rtEncoder(d: Pick<RtPolarity, 'words' | 'maxLength'>): (tokens: string[]) => Float32Array {
  const index = indexOf(d.words);
  return (tokens) => {
    const ids = idsOf(index, tokens).slice(-d.maxLength);
    const row = new Float32Array(d.maxLength);
    row.set(ids, d.maxLength - ids.length);
    return row;
  };
}

/**
 * Tokens of foreign English text (an IMDB review) in the style of this dataset's preprocessing,
 * so that its words meet the vocabulary: HTML tags (IMDB's `<br />`) become spaces, the text is
 * lower-cased (`toLowerCase`), and the marks the dataset writes as tokens of their own
 * (`. , ! ? ; : " ( )` and the dash `--`) are split off; apostrophes and single hyphens stay
 * inside words ("doesn't", "co-writer"), as in the dataset.
 *
 * @example
 * ```ts
 * rtStyleTokens('Great film!<br />It "works".'); // ['great', 'film', '!', 'it', '"', 'works', '"', '.']
 * ```
 */
export function rtStyleTokens(text: string): string[] {
  return rtTokens(text.replace(/<[^>]*>/g, ' ').toLowerCase().replace(/([.,!?;:"()])/g, ' $1 ').replace(/-{2,}/g, ' -- '));
}
