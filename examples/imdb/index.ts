/**
 * The IMDB example: the TF-IDF MLP and its deterministic vectorizer.
 * @module
 */
export { buildImdbModel, createImdbModel, loadImdb, loadImdbTestVectors, IMDB_FEATURES, type Review } from './build.ts';
export { densify, fitTfidf, terms, tokenize, transformTfidf, type SparseRow, type TfidfOptions, type TfidfVectorizer } from './tfidf.ts';
