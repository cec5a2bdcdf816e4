import { ed25519PublicKeyOf, generateEd25519KeyPair, randomBytes, sealStream, sha256, STREAM_PREFIX_SIZE, zeroize } from '../crypto/index.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';
import {
  BUNDLE_FORMAT_VERSION, BUNDLE_MAGIC, DEFAULT_BUCKET_MIN_SIZE, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE,
  PREFIX_SIZE, TAIL_AEAD, toHex,
} from './format.ts';
import { encodeHeader } from './header.ts';
import { keyCommitment, tailChunkKey } from './keys.ts';
import { bucketSize, padTail } from './padding.ts';
import { signHeader } from './signature.ts';
import type { BundleHeader, CreateBundleOptions, EnclavePolicy, ProviderKey } from './types.ts';

/** The default enclave policy: the insecure simulated TEE, any measurement (docs/bundle-format.md §4.5). */
export const DEFAULT_POLICY: EnclavePolicy = Object.freeze({ platforms: [{ kind: 'sim', measurements: [] }] }) as EnclavePolicy;

/**
 * Seals a model into a `.enn` bundle (docs/bundle-format.md): draws a fresh 256-bit model key
 * and nonce prefix, pads the tail to its size bucket, encrypts it with STREAM AES-256-GCM bound
 * to the header hash, and signs the header. Returns the file bytes and the provider's secrets
 * (write them with `writeProviderKeyFile`, mode 0600; never ship them).
 *
 * @example
 * ```ts
 * const { bytes, providerKey } = createBundle({ head, tail, inputs: cut, outputs, headInputs });
 * await writeBundleFile('model.enn', bytes);
 * await writeProviderKeyFile('model.enn.key', providerKey);
 * ```
 */
export function createBundle(options: CreateBundleOptions): { bytes: Uint8Array; providerKey: ProviderKey } {
  // A fresh model key per bundle: one bundle's key (given to one enclave) opens nothing else.
  const modelKey = randomBytes(32);
  const signingKey = options.signingKey ? Uint8Array.from(options.signingKey) : generateEd25519KeyPair().privateKey;
  // A fresh random STREAM prefix per bundle (§5.3).
  const noncePrefix = randomBytes(STREAM_PREFIX_SIZE);
  try {
    return assembleBundle(options, { modelKey, signingKey, noncePrefix });
  } finally {
    zeroize(modelKey, signingKey); // the returned ProviderKey holds its own copies
  }
}

/**
 * The deterministic core of {@link createBundle}: the caller supplies the secrets. Only test
 * vectors call it directly; real bundles MUST use fresh secrets (§9).
 * @internal
 */
export function assembleBundle(
  options: CreateBundleOptions,
  secrets: {
    modelKey: Uint8Array; signingKey: Uint8Array; noncePrefix: Uint8Array;
    /** Test vectors only: corrupt the padded plaintext before sealing (a broken writer). */
    insecureMutatePadded?: (padded: Uint8Array) => void;
  },
): { bytes: Uint8Array; providerKey: ProviderKey } {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`chunkSize must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}, got ${chunkSize}`);
  }
  const paddedSize = bucketSize(options.tail.byteLength, options.bucketMinSize ?? DEFAULT_BUCKET_MIN_SIZE);
  const signingPublicKey = ed25519PublicKeyOf(secrets.signingKey);
  const modelId = options.modelId ?? `model-${toHex(randomBytes(8))}`;
  const header: BundleHeader = {
    formatVersion: BUNDLE_FORMAT_VERSION,
    modelId,
    providerKey: toHex(signingPublicKey),
    headInputs: specs(options.headInputs),
    inputs: specs(options.inputs),
    outputs: specs(options.outputs),
    head: { sha256: toHex(sha256(options.head)), size: options.head.byteLength },
    tail: {
      aead: TAIL_AEAD,
      chunkSize,
      chunkCount: Math.ceil(paddedSize / chunkSize),
      paddedSize,
      noncePrefix: toHex(secrets.noncePrefix),
      keyCommitment: toHex(keyCommitment(secrets.modelKey)),
    },
    policy: {
      platforms: (options.policy ?? DEFAULT_POLICY).platforms.map((p) => ({
        kind: p.kind, measurements: [...p.measurements],
        ...(p.mrSigners ? { mrSigners: [...p.mrSigners] } : {}), ...(p.minIsvSvn !== undefined ? { minIsvSvn: p.minIsvSvn } : {}),
      })),
    },
    licenseServer: options.licenseServer,
  };
  const headerBytes = encodeHeader(header);
  const signature = signHeader(secrets.signingKey, headerBytes);

  const padded = padTail(options.tail, paddedSize);
  secrets.insecureMutatePadded?.(padded);
  const key = tailChunkKey(secrets.modelKey);
  let chunks: Uint8Array[];
  try {
    // AAD = SHA-256(header bytes): every chunk is bound to this exact header (§5.3).
    chunks = sealStream(key, padded, { aad: sha256(headerBytes), chunkSize, insecureNoncePrefix: secrets.noncePrefix }).chunks;
  } finally {
    zeroize(padded, key);
  }

  const sealedSize = chunks.reduce((n, c) => n + c.byteLength, 0);
  const out = new Uint8Array(PREFIX_SIZE + headerBytes.byteLength + signature.byteLength + options.head.byteLength + sealedSize);
  const view = new DataView(out.buffer);
  out.set(BUNDLE_MAGIC, 0);
  view.setUint32(8, BUNDLE_FORMAT_VERSION, false);
  view.setUint32(12, headerBytes.byteLength, false);
  let o = PREFIX_SIZE;
  for (const part of [headerBytes, signature, options.head, ...chunks]) { out.set(part, o); o += part.byteLength; }
  return {
    bytes: out,
    providerKey: { modelId, modelKey: Uint8Array.from(secrets.modelKey), signingKey: Uint8Array.from(secrets.signingKey), signingPublicKey },
  };
}

/** Copies specs to exactly { name, dtype, shape } (the header allows no other fields). */
function specs(list: readonly TensorSpec[]): TensorSpec[] {
  return list.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] }));
}
