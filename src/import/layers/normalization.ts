import type { LayerConverter } from '../types.ts';

/** (in progress) */
export const normalizationConverters: Record<string, LayerConverter> = {};
