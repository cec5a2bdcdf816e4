import type { LayerConverter } from '../types.ts';

/** (in progress) */
export const mergeConverters: Record<string, LayerConverter> = {};
