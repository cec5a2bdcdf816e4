/**
 * The answer watermark's provider side (docs/watermark.md): verify that a suspect model learned
 * a bundle's keyed answers. The enclave side is `src/enclave/trusted/watermark.ts`; the sealed
 * record and the key derivation are `src/bundle/watermark.ts` (docs/bundle-format.md §5.7).
 *
 * @example
 * ```ts
 * import { verifyWatermark } from './watermark/index.ts';
 * const v = await verifyWatermark({ bundle, providerKey, suspect, data });
 * ```
 * @module
 */
export {
  verifyWatermark, judgeWatermark, markData, DEFAULT_ALPHA, DEFAULT_NULL_KEYS, MIN_NULL_KEYS, MIN_JUDGED_ROWS,
  type WatermarkVerdict, type VerifyOptions, type MarkOptions, type MarkedData,
} from './verify.ts';
