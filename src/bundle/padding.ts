import { isAllZero } from '../crypto/index.ts';
import { LENGTH_PREFIX_SIZE, MAX_PADDED_SIZE, MIN_PADDED_SIZE } from './format.ts';
import { decodePolicyRecord, PROBABILITIES, type OutputPolicy } from './output-policy.ts';
import { decodeWatermarkRecord, WATERMARK_RECORD_TAG, type WatermarkConfig } from './watermark.ts';

/**
 * The size bucket of a tail of `size` bytes (docs/bundle-format.md §5.1):
 * max(bucketMinSize, next power of two ≥ size + 8).
 *
 * @example
 * ```ts
 * bucketSize(70_000, 65536); // 131072
 * ```
 */
export function bucketSize(size: number, bucketMinSize: number): number {
  if (!Number.isInteger(bucketMinSize) || bucketMinSize < MIN_PADDED_SIZE || (bucketMinSize & (bucketMinSize - 1)) !== 0 || bucketMinSize > 2 ** 30) {
    throw new RangeError(`bucketMinSize must be a power of two from ${MIN_PADDED_SIZE} to 2^30, got ${bucketMinSize}`);
  }
  if (size + LENGTH_PREFIX_SIZE > MAX_PADDED_SIZE) throw new RangeError(`a tail of ${size} bytes exceeds the largest bucket (${MAX_PADDED_SIZE} bytes)`);
  let b = bucketMinSize;
  while (b < size + LENGTH_PREFIX_SIZE) b *= 2;
  return b;
}

/**
 * The padded plaintext (§5.1, §5.6, §5.7): u64 BE length ‖ tail ‖ records (the policy record,
 * none for `probabilities`, then the watermark record, none without a watermark) ‖ zeros,
 * `paddedSize` bytes in all. The caller zeroizes the result after sealing it.
 */
export function padTail(tail: Uint8Array, paddedSize: number, policyRecord: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (tail.byteLength + policyRecord.byteLength + LENGTH_PREFIX_SIZE > paddedSize) {
    throw new RangeError(`tail of ${tail.byteLength} bytes and its ${policyRecord.byteLength} bytes of sealed records (policy, watermark) do not fit a ${paddedSize}-byte bucket`);
  }
  const p = new Uint8Array(paddedSize);
  new DataView(p.buffer).setBigUint64(0, BigInt(tail.byteLength), false);
  p.set(tail, LENGTH_PREFIX_SIZE);
  p.set(policyRecord, LENGTH_PREFIX_SIZE + tail.byteLength);
  return p;
}

/**
 * The tail inside a padded plaintext (§5.1, §5.5), as a view into `padded`, the sealed output
 * policy (§5.6; null when its record is malformed) and the watermark (§5.7; undefined when its
 * record is malformed, null when there is none); null if the length prefix is too large or a
 * padding byte after the records is not zero.
 */
export function unpadTail(padded: Uint8Array): { tail: Uint8Array; policy: OutputPolicy | null; watermark: WatermarkConfig | null | undefined } | null {
  if (padded.byteLength < LENGTH_PREFIX_SIZE) return null;
  const len = new DataView(padded.buffer, padded.byteOffset, padded.byteLength).getBigUint64(0, false);
  if (len > BigInt(padded.byteLength - LENGTH_PREFIX_SIZE)) return null;
  const end = LENGTH_PREFIX_SIZE + Number(len);
  // A watermark record right after the tail: the policy is the default (it writes no record).
  const record = padded[end] === WATERMARK_RECORD_TAG ? { policy: PROBABILITIES, size: 0 } : decodePolicyRecord(padded.subarray(end));
  const wm = record ? decodeWatermarkRecord(padded.subarray(end + record.size)) : null;
  if (record && wm && !isAllZero(padded.subarray(end + record.size + wm.size))) return null;
  return { tail: padded.subarray(LENGTH_PREFIX_SIZE, end), policy: record?.policy ?? null, watermark: record ? wm?.config : null };
}
