/**
 * The Flowers example (the eNNclave experiments' VGG19 → Flatten → Dense model): seeded random
 * weights, for timing.
 * @module
 */
export { buildFlowersModel, createFlowersModel, FLOWER_CLASSES } from './build.ts';
