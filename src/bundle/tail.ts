import { AEAD_TAG_SIZE, sha256, StreamOpener, timingSafeEqual, zeroize } from '../crypto/index.ts';
import { bundleError, fromHex, LENGTH_PREFIX_SIZE } from './format.ts';
import { decodeHeader } from './header.ts';
import { keyCommitment, tailChunkKey } from './keys.ts';
import type { OutputPolicy } from './output-policy.ts';
import { unpadTail } from './padding.ts';
import type { WatermarkConfig } from './watermark.ts';
import type { Bundle, BundleHeader } from './types.ts';

/**
 * Opens a bundle's sealed tail chunk by chunk, as the chunks arrive (e.g. streamed over the
 * enclave pipe): checks the key commitment first (`BUNDLE_KEY_MISMATCH`), decrypts each chunk
 * in order into one padded buffer (`BUNDLE_TAIL_DECRYPT` naming the chunk), and on `finish()`
 * checks the padding (`BUNDLE_TAIL_PADDING`) and returns the tail ONNX bytes
 * (docs/bundle-format.md §5.5). Any failure wipes the buffer; the opener then refuses more.
 *
 * The tail returned by `finish()` is a view into the opener's buffer: `zeroize()` it once the
 * engine has loaded the model.
 *
 * @example
 * ```ts
 * const opener = new TailOpener(headerBytes, modelKey);
 * for (const chunk of chunksFromPipe) opener.push(chunk);
 * const tailOnnx = opener.finish();
 * try { await engine.load(tailOnnx); } finally { zeroize(tailOnnx); }
 * ```
 */
export class TailOpener {
  /** The parsed header. */
  readonly header: BundleHeader;
  readonly #source: string;
  readonly #stream: StreamOpener;
  #padded: Uint8Array | undefined;
  #offset = 0;
  #policy: OutputPolicy | undefined;
  #watermark: WatermarkConfig | null = null;

  /**
   * @param bundle a bundle from `readBundle`, or just its header bytes (the tail's integrity
   *   rests on the AAD and the key commitment, not on the header signature)
   * @param modelKey the 32-byte model key K (not retained; the derived chunk key is)
   * @param source what error messages call the bundle @defaultValue the bundle's source, or `'<bytes>'`
   */
  constructor(bundle: Bundle | Uint8Array, modelKey: Uint8Array, source?: string) {
    const headerBytes = bundle instanceof Uint8Array ? bundle : bundle.headerBytes;
    this.#source = source ?? (bundle instanceof Uint8Array ? '<bytes>' : bundle.source);
    this.header = bundle instanceof Uint8Array ? decodeHeader(headerBytes, this.#source) : bundle.header;
    if (!(modelKey instanceof Uint8Array) || modelKey.byteLength !== 32) {
      throw bundleError('BUNDLE_KEY_MISMATCH', this.#source, `model key must be 32 bytes, got ${modelKey?.byteLength}`);
    }
    // §5.5: the key commitment first, so a wrong key is named as such (and GCM is key-committing).
    const commitment = keyCommitment(modelKey);
    const ok = timingSafeEqual(commitment, fromHex(this.header.tail.keyCommitment));
    zeroize(commitment);
    if (!ok) throw bundleError('BUNDLE_KEY_MISMATCH', this.#source, `the model key is not this bundle's key (model ${this.header.modelId})`);
    const key = tailChunkKey(modelKey);
    // AAD = SHA-256(header bytes) (§5.3); the opener keeps its own copy of the key.
    this.#stream = new StreamOpener(key, fromHex(this.header.tail.noncePrefix), sha256(headerBytes));
    zeroize(key);
    try {
      this.#padded = new Uint8Array(this.header.tail.paddedSize);
    } catch (cause) {
      this.#stream.dispose();
      throw bundleError('BUNDLE_TAIL_DECRYPT', this.#source, `cannot allocate the ${this.header.tail.paddedSize}-byte tail buffer`, cause);
    }
  }

  /** The output policy sealed with the tail (§5.6), known once `finish()` returned. */
  get outputPolicy(): OutputPolicy {
    if (!this.#policy) throw bundleError('BUNDLE_TAIL_DECRYPT', this.#source, 'the output policy is known only after the whole tail opened');
    return this.#policy;
  }

  /** The watermark sealed with the tail (§5.7), or null for none; known once `finish()` returned. */
  get watermark(): WatermarkConfig | null {
    if (!this.#policy) throw bundleError('BUNDLE_TAIL_DECRYPT', this.#source, 'the watermark is known only after the whole tail opened');
    return this.#watermark;
  }

  /** The index of the next chunk expected. */
  get index(): number { return this.#stream.index; }

  /** Decrypts the next chunk (ciphertext ‖ tag) into the padded buffer. */
  push(chunk: Uint8Array): void {
    const { chunkCount, chunkSize, paddedSize } = this.header.tail;
    const i = this.#stream.index;
    const where = `sealed tail chunk ${i} of ${chunkCount}`;
    if (!this.#padded) throw bundleError('BUNDLE_TAIL_DECRYPT', this.#source, `${where}: the tail opener already failed or finished`);
    if (i >= chunkCount) return this.#fail('BUNDLE_TAIL_DECRYPT', `${where}: more chunks than the header's ${chunkCount}`);
    const plain = i === chunkCount - 1 ? paddedSize - chunkSize * (chunkCount - 1) : chunkSize;
    if (chunk.byteLength !== plain + AEAD_TAG_SIZE) return this.#fail('BUNDLE_TAIL_DECRYPT', `${where} has ${chunk.byteLength} bytes, expected ${plain + AEAD_TAG_SIZE}`);
    let out: Uint8Array;
    try {
      // The last-chunk flag is set exactly on chunk chunkCount − 1 (§5.3).
      out = this.#stream.push(chunk, i === chunkCount - 1);
    } catch (cause) {
      return this.#fail('BUNDLE_TAIL_DECRYPT', `${where} does not authenticate (modified, reordered, dropped or duplicated)`, cause);
    }
    this.#padded.set(out, this.#offset);
    zeroize(out);
    this.#offset += plain;
  }

  /** Checks that every chunk arrived and the padding (§5.5); returns the tail ONNX bytes (a view: zeroize it after use). */
  finish(): Uint8Array {
    const padded = this.#padded;
    if (!padded) throw bundleError('BUNDLE_TAIL_DECRYPT', this.#source, 'the tail opener already failed or finished');
    if (!this.#stream.done) return this.#fail('BUNDLE_TRUNCATED', `sealed tail ended after ${this.#stream.index} of ${this.header.tail.chunkCount} chunks`);
    const opened = unpadTail(padded);
    if (!opened) return this.#fail('BUNDLE_TAIL_PADDING', 'sealed tail has an invalid length prefix or non-zero padding');
    // Authenticated but unreadable: a broken writer or an unknown record version; never guess a policy (§5.6).
    if (!opened.policy) return this.#fail('BUNDLE_OUTPUT_POLICY', 'sealed tail has an output policy record this reader does not know (version, length or policy)');
    if (opened.watermark === undefined) return this.#fail('BUNDLE_WATERMARK', 'sealed tail has a watermark record this reader does not know (version, length, rate or threshold)');
    zeroize(padded.subarray(0, LENGTH_PREFIX_SIZE)); // the exact tail size is secret too (§1)
    zeroize(padded.subarray(LENGTH_PREFIX_SIZE + opened.tail.byteLength)); // the records: secret as well
    this.#padded = undefined;
    this.#policy = opened.policy;
    this.#watermark = opened.watermark;
    return opened.tail;
  }

  /** Wipes the buffer and the key; later calls fail. */
  dispose(): void {
    zeroize(this.#padded);
    this.#padded = undefined;
    this.#stream.dispose();
  }

  #fail(code: string, why: string, cause?: unknown): never {
    this.dispose();
    throw bundleError(code, this.#source, why, cause);
  }
}

/**
 * Decrypts a bundle's whole sealed tail with the model key and returns the tail ONNX bytes,
 * unpadded (docs/bundle-format.md §5.5). Throws `BUNDLE_KEY_MISMATCH`, `BUNDLE_TAIL_DECRYPT`
 * (naming the chunk) or `BUNDLE_TAIL_PADDING`. Zeroize the result once loaded.
 *
 * @example
 * ```ts
 * const tail = openSealedTail(readBundle(bytes), providerKey.modelKey);
 * ```
 */
export function openSealedTail(bundle: Bundle, modelKey: Uint8Array): Uint8Array {
  const opener = new TailOpener(bundle, modelKey);
  for (const c of bundle.sealedTail.chunks) opener.push(c);
  return opener.finish();
}

