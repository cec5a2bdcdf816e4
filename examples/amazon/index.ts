/**
 * The Amazon example (the eNNclave experiments' sepCNN star-rating regression): seeded weights
 * for timing, trainable on an IMDB stand-in.
 * @module
 */
export { AMAZON_NUM_WORDS, AMAZON_SEQUENCE_LENGTH, buildAmazonModel, createAmazonModel, loadReviewSequences, type ReviewSequences } from './build.ts';
