/**
 * IMDB Large Movie Review Dataset v1.0 (Maas et al. 2011; ../shared/datasets/imdb, see its
 * PROVENANCE.md): 25,000 labelled train and 25,000 test reviews as JSONL, one
 * `{"text", "label", "rating", "id"}` object a line. Rows alternate positive (1) and negative (0),
 * so any even prefix is balanced. The text is verbatim (HTML `<br />` markup kept).
 *
 * @example
 * ```ts
 * const reviews = loadImdb('train', 1000); // 500 positive, 500 negative
 * ```
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetDir } from './dataset-dir.ts';

/** One labelled review. */
export interface Review {
  /** the review, verbatim */
  text: string;
  /** 1 = positive (rating ≥ 7), 0 = negative (rating ≤ 4) */
  label: number;
}

/**
 * Reads train.jsonl or test.jsonl (rows alternate pos/neg, so any even prefix is balanced).
 *
 * @param split 'train' | 'test'
 * @param limit at most this many rows (from the start)
 */
export function loadImdb(split: 'train' | 'test', limit?: number): Review[] {
  const lines = readFileSync(join(datasetDir('imdb'), `${split}.jsonl`), 'utf8').split('\n').filter((l) => l.length > 0);
  return lines.slice(0, limit ?? lines.length).map((l) => {
    const r = JSON.parse(l) as { text: string; label: number };
    return { text: r.text, label: r.label };
  });
}
