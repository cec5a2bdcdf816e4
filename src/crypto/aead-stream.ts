import { createCipheriv, createDecipheriv } from 'node:crypto';
import { EnclaveNnError } from '../errors.ts';
import { randomBytes } from './random.ts';
import { concatBytes } from './hash.ts';

/** AES-256-GCM key size in bytes. */
export const AEAD_KEY_SIZE = 32;
/** AES-256-GCM nonce size in bytes (96 bits, the size GCM is designed for). */
export const AEAD_NONCE_SIZE = 12;
/** AES-256-GCM tag size in bytes (full 128-bit tags; truncated tags weaken GCM). */
export const AEAD_TAG_SIZE = 16;
/** STREAM nonce prefix size: 12-byte nonce = 7-byte prefix ‖ u32 BE counter ‖ 1-byte last flag. */
export const STREAM_PREFIX_SIZE = 7;
/** Default plaintext size of a STREAM chunk (64 KiB): large enough to amortise per-chunk cost. */
export const STREAM_DEFAULT_CHUNK_SIZE = 64 * 1024;
/** At most 2^32 chunks: the counter is 32 bits and must never wrap (a wrap would reuse nonces). */
export const STREAM_MAX_CHUNKS = 2 ** 32;

function checkKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.byteLength !== AEAD_KEY_SIZE) {
    throw new RangeError(`${what}: key must be ${AEAD_KEY_SIZE} bytes`);
  }
}

/**
 * One-shot AES-256-GCM encryption; returns ciphertext ‖ 16-byte tag.
 *
 * The caller owns nonce uniqueness: a (key, nonce) pair MUST never encrypt twice. Use a fresh
 * random 12-byte nonce per message under a long-lived key, or any fixed nonce under a key that
 * is used exactly once.
 *
 * @example
 * ```ts
 * const nonce = randomBytes(12); // random: the key may encrypt many messages
 * const sealed = aeadSeal(key, nonce, plaintext, aad);
 * ```
 */
export function aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array = new Uint8Array(0)): Uint8Array {
  checkKey(key, 'aeadSeal');
  if (nonce.byteLength !== AEAD_NONCE_SIZE) throw new RangeError(`aeadSeal: nonce must be ${AEAD_NONCE_SIZE} bytes`);
  const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: AEAD_TAG_SIZE });
  c.setAAD(aad);
  const body = c.update(plaintext);
  const fin = c.final();
  return concatBytes(body, fin, c.getAuthTag());
}

/**
 * One-shot AES-256-GCM decryption of ciphertext ‖ tag. Throws `EnclaveNnError('AEAD_AUTH')`
 * when the tag does not verify (wrong key, nonce or AAD, or modified bytes); never returns
 * unauthenticated plaintext.
 *
 * @example
 * ```ts
 * const plaintext = aeadOpen(key, nonce, sealed, aad);
 * ```
 */
export function aeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array = new Uint8Array(0)): Uint8Array {
  checkKey(key, 'aeadOpen');
  if (nonce.byteLength !== AEAD_NONCE_SIZE) throw new RangeError(`aeadOpen: nonce must be ${AEAD_NONCE_SIZE} bytes`);
  if (sealed.byteLength < AEAD_TAG_SIZE) {
    throw new EnclaveNnError('AEAD_AUTH', 'Cannot decrypt: ciphertext is shorter than its tag');
  }
  const split = sealed.byteLength - AEAD_TAG_SIZE;
  const d = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: AEAD_TAG_SIZE });
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(split));
  const n = d.update(sealed.subarray(0, split));
  const out = new Uint8Array(n.buffer, n.byteOffset, n.byteLength); // no copy: one plaintext buffer to wipe
  try {
    d.final();
  } catch (cause) {
    out.fill(0); // never leave unauthenticated plaintext around
    throw new EnclaveNnError('AEAD_AUTH', 'Cannot decrypt: authentication tag does not verify', { cause });
  }
  return out;
}

/**
 * The STREAM nonce of chunk `index` (docs/bundle-format.md §5.2): prefix ‖ u32 BE index ‖ last flag.
 * The counter makes every chunk's nonce distinct under one key and binds the chunk's position
 * (reordering fails); the flag binds "this is the final chunk" (truncation and extension fail).
 */
export function streamNonce(prefix: Uint8Array, index: number, last: boolean): Uint8Array {
  if (prefix.byteLength !== STREAM_PREFIX_SIZE) throw new RangeError(`STREAM nonce prefix must be ${STREAM_PREFIX_SIZE} bytes`);
  if (!Number.isInteger(index) || index < 0 || index >= STREAM_MAX_CHUNKS) throw new RangeError(`STREAM chunk index out of range: ${index}`);
  const n = new Uint8Array(AEAD_NONCE_SIZE);
  n.set(prefix, 0);
  new DataView(n.buffer).setUint32(STREAM_PREFIX_SIZE, index, false);
  n[11] = last ? 1 : 0;
  return n;
}

/** Options of {@link sealStream}. */
export interface SealStreamOptions {
  /** Additional authenticated data bound to every chunk. @defaultValue empty */
  aad?: Uint8Array;
  /** Plaintext bytes per chunk (the last chunk may be shorter). @defaultValue 65536 */
  chunkSize?: number;
  /**
   * The nonce prefix. Leave unset: a fresh random prefix is drawn. Only deterministic test
   * vectors set it; reusing a prefix under the same key reuses nonces and breaks GCM.
   * @defaultValue 7 random bytes
   */
  insecureNoncePrefix?: Uint8Array;
}

/** A STREAM ciphertext: the nonce prefix and one sealed chunk (ciphertext ‖ tag) per plaintext chunk. */
export interface SealedStream {
  /** 7 bytes; part of every chunk nonce. Not secret. */
  noncePrefix: Uint8Array;
  /** Chunk i = AES-256-GCM(key, prefix ‖ i ‖ last, plaintext chunk i, aad). */
  chunks: Uint8Array[];
}

/**
 * Encrypts `plaintext` with AES-256-GCM in STREAM mode (Hoang, Reyhanitabar, Rogaway, Vizár,
 * "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015):
 * chunks of `chunkSize` bytes, chunk i sealed under nonce prefix ‖ u32 BE i ‖ (1 if last else 0).
 * A reader detects reordered, dropped, duplicated or truncated chunks. An empty plaintext is one
 * empty last chunk.
 *
 * @example
 * ```ts
 * const { noncePrefix, chunks } = sealStream(key, tailBytes, { aad: headerHash, chunkSize: 65536 });
 * ```
 */
export function sealStream(key: Uint8Array, plaintext: Uint8Array, options: SealStreamOptions = {}): SealedStream {
  checkKey(key, 'sealStream');
  const chunkSize = options.chunkSize ?? STREAM_DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`sealStream: chunkSize must be a positive integer, got ${chunkSize}`);
  const aad = options.aad ?? new Uint8Array(0);
  // A random prefix: the key may (by mistake) seal more than one stream; 56 random bits keep
  // nonce collisions between such streams unlikely. A bundle's tail key is fresh per bundle anyway.
  const noncePrefix = options.insecureNoncePrefix ?? randomBytes(STREAM_PREFIX_SIZE);
  const count = Math.max(1, Math.ceil(plaintext.byteLength / chunkSize));
  if (count > STREAM_MAX_CHUNKS) throw new RangeError('sealStream: too many chunks for a 32-bit counter');
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const part = plaintext.subarray(i * chunkSize, Math.min(plaintext.byteLength, (i + 1) * chunkSize));
    chunks.push(aeadSeal(key, streamNonce(noncePrefix, i, i === count - 1), part, aad));
  }
  return { noncePrefix, chunks };
}

/**
 * Decrypts STREAM chunks as they arrive. Push chunks in order, flagging the final one; each
 * `push` returns that chunk's plaintext, or throws `EnclaveNnError('STREAM_AUTH')` naming the
 * chunk index (wrong key/AAD, modified, reordered, dropped or duplicated chunk, or a last flag
 * that does not match). `finish()` throws `STREAM_TRUNCATED` unless the final chunk was seen.
 * After any failure the opener refuses further chunks.
 *
 * @example
 * ```ts
 * const opener = new StreamOpener(key, noncePrefix, aad);
 * chunks.forEach((c, i) => parts.push(opener.push(c, i === chunks.length - 1)));
 * opener.finish();
 * ```
 */
export class StreamOpener {
  readonly #key: Uint8Array;
  readonly #prefix: Uint8Array;
  readonly #aad: Uint8Array;
  #index = 0;
  #done = false;
  #failed = false;

  /**
   * @param key the 32-byte AES-256-GCM key (copied; call {@link StreamOpener.dispose} to zero the copy early)
   * @param noncePrefix the stream's 7-byte nonce prefix
   * @param aad the additional data every chunk was sealed with
   */
  constructor(key: Uint8Array, noncePrefix: Uint8Array, aad: Uint8Array = new Uint8Array(0)) {
    checkKey(key, 'StreamOpener');
    if (noncePrefix.byteLength !== STREAM_PREFIX_SIZE) throw new RangeError(`StreamOpener: nonce prefix must be ${STREAM_PREFIX_SIZE} bytes`);
    this.#key = Uint8Array.from(key);
    this.#prefix = Uint8Array.from(noncePrefix);
    this.#aad = Uint8Array.from(aad);
  }

  /** The index of the next chunk expected (= the number of chunks opened so far). */
  get index(): number { return this.#index; }

  /** True once the final chunk has been opened. */
  get done(): boolean { return this.#done; }

  /** Opens the next chunk; `isLast` says whether the caller believes it is the final chunk. */
  push(chunk: Uint8Array, isLast: boolean): Uint8Array {
    const i = this.#index;
    if (this.#failed) throw new EnclaveNnError('STREAM_AUTH', `Cannot open chunk ${i}: the stream already failed`);
    if (this.#done) {
      this.#failed = true;
      throw new EnclaveNnError('STREAM_AUTH', `Cannot open chunk ${i}: the stream already ended at its last chunk`);
    }
    try {
      const out = aeadOpen(this.#key, streamNonce(this.#prefix, i, isLast), chunk, this.#aad);
      this.#index++;
      if (isLast) { this.#done = true; this.dispose(); }
      return out;
    } catch (cause) {
      this.#failed = true;
      this.dispose();
      if (cause instanceof RangeError) throw cause;
      throw new EnclaveNnError('STREAM_AUTH',
        `Cannot open chunk ${i}: it does not authenticate (wrong key, modified, reordered, dropped or duplicated chunk${isLast ? ', or not the last chunk' : ''})`,
        { cause });
    }
  }

  /** Throws `STREAM_TRUNCATED` unless the final chunk was opened. */
  finish(): void {
    if (!this.#done) {
      this.dispose();
      throw new EnclaveNnError('STREAM_TRUNCATED', `Cannot finish stream: its last chunk never arrived (after ${this.#index} chunks)`);
    }
  }

  /** Zeroes this opener's copy of the key; later pushes fail. */
  dispose(): void {
    this.#key.fill(0);
    if (!this.#done) this.#failed = true;
  }
}

/**
 * Decrypts a whole STREAM ciphertext (see {@link sealStream}); the last element of `chunks` is
 * the final chunk. Throws `STREAM_AUTH` naming the first chunk that fails, `STREAM_TRUNCATED`
 * on an empty chunk list.
 *
 * @example
 * ```ts
 * const plaintext = openStream(key, noncePrefix, chunks, { aad: headerHash });
 * ```
 */
export function openStream(key: Uint8Array, noncePrefix: Uint8Array, chunks: readonly Uint8Array[], options: { aad?: Uint8Array } = {}): Uint8Array {
  const opener = new StreamOpener(key, noncePrefix, options.aad);
  const parts: Uint8Array[] = [];
  try {
    chunks.forEach((c, i) => parts.push(opener.push(c, i === chunks.length - 1)));
    opener.finish();
    return concatBytes(...parts);
  } finally {
    for (const p of parts) p.fill(0);
    opener.dispose();
  }
}
