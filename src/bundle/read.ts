import { sha256, timingSafeEqual } from '../crypto/index.ts';
import { AEAD_TAG_SIZE } from '../crypto/index.ts';
import {
  BUNDLE_FORMAT_VERSION, BUNDLE_MAGIC, MAX_HEADER_SIZE, PREFIX_SIZE, SIGNATURE_SIZE, bundleError, fromHex, toHex,
} from './format.ts';
import { decodeHeader } from './header.ts';
import { checkHeaderSignature } from './signature.ts';
import type { Bundle, ReadBundleOptions } from './types.ts';

/**
 * Reads and verifies a `.enn` bundle's bytes (docs/bundle-format.md §7 rows 1–10): magic,
 * version, sizes, header signature, header schema, pinned provider key, head hash, trailing
 * bytes. The tail stays sealed (see `openSealedTail`). The returned head and chunks are views
 * into `bytes` (no copy). Throws `EnclaveNnError` with a `BUNDLE_*` code and the message
 * `Cannot open bundle <path>: <why>`.
 *
 * @example
 * ```ts
 * const bundle = readBundle(await readFile('model.enn'), { path: 'model.enn' });
 * console.log(bundle.header.outputs);
 * ```
 */
export function readBundle(bytes: Uint8Array, options: ReadBundleOptions = {}): Bundle {
  const source = options.path ?? '<bytes>';
  const fail = (code: string, why: string) => bundleError(code, source, why);
  const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  // §3: magic first (a short prefix of the magic is a truncation, anything else is not a bundle).
  const m = Math.min(u8.byteLength, BUNDLE_MAGIC.byteLength);
  if (!u8.subarray(0, m).every((b, i) => b === BUNDLE_MAGIC[i])) throw fail('BUNDLE_MAGIC', 'not an .enn bundle (wrong magic bytes)');
  if (u8.byteLength < PREFIX_SIZE) throw fail('BUNDLE_TRUNCATED', `file is truncated: ${u8.byteLength} bytes, shorter than the ${PREFIX_SIZE}-byte prefix`);
  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  // §3: then the version, before anything else is interpreted.
  const version = view.getUint32(8, false);
  if (version !== BUNDLE_FORMAT_VERSION) throw fail('BUNDLE_VERSION', `format version ${version} is not supported (this reader knows version ${BUNDLE_FORMAT_VERSION})`);
  // §7 row 4: bounded header.
  const headerSize = view.getUint32(12, false);
  if (headerSize === 0 || headerSize > MAX_HEADER_SIZE) throw fail('BUNDLE_HEADER', `header size ${headerSize} is outside 1..${MAX_HEADER_SIZE}`);
  const sigEnd = PREFIX_SIZE + headerSize + SIGNATURE_SIZE;
  if (u8.byteLength < sigEnd) throw fail('BUNDLE_TRUNCATED', `file is truncated inside the ${u8.byteLength < PREFIX_SIZE + headerSize ? 'header' : 'header signature'}`);
  const headerBytes = u8.subarray(PREFIX_SIZE, PREFIX_SIZE + headerSize);
  const signature = u8.subarray(PREFIX_SIZE + headerSize, sigEnd);

  // §4.4: verify the signature before trusting any field but providerKey (§7 rows 5–6).
  const checked = checkHeaderSignature(headerBytes, signature);
  if (!checked.ok) {
    if (checked.failure === 'not-json') throw fail('BUNDLE_HEADER', `header is ${(checked.cause as Error).message}`);
    if (checked.failure === 'no-provider-key') throw fail('BUNDLE_HEADER', 'header has no readable providerKey');
    throw fail('BUNDLE_HEADER_SIGNATURE', 'header signature does not verify');
  }
  const { providerKey, providerKeyHex } = checked;

  // §7 row 7: canonical form and schema.
  const header = decodeHeader(headerBytes, source);
  // §7 row 8: a pinned provider.
  if (options.providerKey && !timingSafeEqual(options.providerKey, providerKey)) {
    throw fail('BUNDLE_PROVIDER_KEY', `signed by provider key ${providerKeyHex.slice(0, 16)}…, not the expected ${toHex(options.providerKey).slice(0, 16)}…`);
  }

  // §3: the header fixes the rest of the layout.
  const headEnd = sigEnd + header.head.size;
  const { chunkSize, chunkCount, paddedSize } = header.tail;
  const sealedSize = paddedSize + AEAD_TAG_SIZE * chunkCount;
  const end = headEnd + sealedSize;
  if (u8.byteLength < headEnd) throw fail('BUNDLE_TRUNCATED', `file is truncated inside the head (${u8.byteLength} of ${end} bytes)`);
  // §7 row 9.
  const head = u8.subarray(sigEnd, headEnd);
  if (toHex(sha256(head)) !== header.head.sha256) throw fail('BUNDLE_HEAD_HASH', 'head does not match the SHA-256 in the signed header');
  if (u8.byteLength < end) throw fail('BUNDLE_TRUNCATED', `file is truncated inside the sealed tail (${u8.byteLength} of ${end} bytes)`);
  if (u8.byteLength > end) throw fail('BUNDLE_TRAILING', `${u8.byteLength - end} unexpected byte(s) after the sealed tail`);

  const chunks: Uint8Array[] = [];
  for (let i = 0, o = headEnd; i < chunkCount; i++) {
    const plain = i === chunkCount - 1 ? paddedSize - chunkSize * (chunkCount - 1) : chunkSize;
    chunks.push(u8.subarray(o, o + plain + AEAD_TAG_SIZE));
    o += plain + AEAD_TAG_SIZE;
  }
  return {
    header,
    headerBytes,
    headerHash: sha256(headerBytes),
    signature,
    head,
    sealedTail: { noncePrefix: fromHex(header.tail.noncePrefix), chunks },
    source,
  };
}
