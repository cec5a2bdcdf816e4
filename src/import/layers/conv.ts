import type { LayerConverter } from '../types.ts';

/** (in progress) */
export const convConverters: Record<string, LayerConverter> = {};
