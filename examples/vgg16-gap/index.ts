/**
 * The VGG16-GAP (MIT67) example: seeded random weights, for timing.
 * @module
 */
export { buildVgg16GapModel, createVgg16Gap, MIT67_CLASSES } from './build.ts';
