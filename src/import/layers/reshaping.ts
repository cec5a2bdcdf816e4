import type { LayerConverter } from '../types.ts';

/** (in progress) */
export const reshapingConverters: Record<string, LayerConverter> = {};
