/**
 * The `.enn` bundle: one file with a signed public header, the public head ONNX and the
 * sealed tail (docs/bundle-format.md).
 *
 * - write: {@link createBundle} → {@link writeBundleFile} + {@link writeProviderKeyFile}
 * - read: {@link readBundleFile} / {@link readBundle} (verifies everything but the tail)
 * - open the tail: {@link openSealedTail}, or {@link TailOpener} chunk by chunk
 *
 * @module
 */
export type {
  Bundle, BundleHeader, CreateBundleOptions, EnclavePolicy, PlatformPolicy, ProviderKey, ReadBundleOptions, SealedTailParams,
} from './types.ts';
export { bundleOfSplit, createBundle, DEFAULT_POLICY } from './create.ts';
export { readBundle } from './read.ts';
export { openSealedTail, TailOpener } from './tail.ts';
export { readBundleFile, writeBundleFile, writeFileAtomic } from './file.ts';
export { decodeProviderKeyFile, encodeProviderKeyFile, readProviderKeyFile, writeProviderKeyFile } from './provider-key.ts';
export { policyAccepts } from './policy.ts';
export { formatOutputPolicy, parseOutputPolicy, policyOutputSpecs, type OutputPolicy } from './output-policy.ts';
export { bucketSize } from './padding.ts';
export { parseWatermarkRate, watermarkRefusal, WatermarkKey, type WatermarkConfig } from './watermark.ts';
export {
  BUNDLE_MAGIC, BUNDLE_FORMAT_VERSION, DEFAULT_BUCKET_MIN_SIZE, DEFAULT_CHUNK_SIZE, MIN_PADDED_SIZE,
} from './format.ts';
