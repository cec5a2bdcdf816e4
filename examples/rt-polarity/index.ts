/**
 * The Rotten Tomatoes example: the sepCNN and the dataset's split/tokenizer.
 * @module
 */
export { buildRtModel, createRtModel } from './build.ts';
export { loadRtPolarity, rtTokens, RT_MAX_LENGTH_CAP, RT_NUM_WORDS, type RtPolarity, type RtSplit } from '../../src/datasets/rt-polarity.ts';
