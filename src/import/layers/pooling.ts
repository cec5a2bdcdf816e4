import type { LayerConverter } from '../types.ts';

/** (in progress) */
export const poolingConverters: Record<string, LayerConverter> = {};
