import { concatBytes, ed25519PublicKeyOf, generateEd25519KeyPair, randomBytes, sealStream, sha256, STREAM_PREFIX_SIZE, zeroize } from '../crypto/index.ts';
import { EnclaveNnError } from '../errors.ts';
import { encodeModel } from '../onnx/codec.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';
import type { SplitResult } from '../split/extract.ts';
import {
  BUNDLE_FORMAT_VERSION, BUNDLE_MAGIC, DEFAULT_BUCKET_MIN_SIZE, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE,
  PREFIX_SIZE, TAIL_AEAD, toHex,
} from './format.ts';
import { encodeHeader } from './header.ts';
import { keyCommitment, tailChunkKey } from './keys.ts';
import { encodePolicyRecord, parseOutputPolicy, policyOutputSpecs, PROBABILITIES } from './output-policy.ts';
import { bucketSize, padTail } from './padding.ts';
import { signHeader } from './signature.ts';
import { encodeWatermarkRecord, watermarkRefusal, watermarkThreshold, WatermarkKey } from './watermark.ts';
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
 * Seals a split into a bundle: its head (empty when every layer is private), its tail, and the
 * tensor specs the header names (cut tensors in, tail outputs out, the model's inputs for the
 * head). `options` are the rest of {@link CreateBundleOptions}.
 *
 * @example
 * ```ts
 * const { bytes, providerKey } = bundleOfSplit(await splitModel(model, { privateLayers: 2 }), { modelId: 'mnist-1' });
 * ```
 */
export function bundleOfSplit(split: SplitResult, options: Omit<CreateBundleOptions, 'head' | 'tail' | 'inputs' | 'outputs' | 'headInputs'> = {}): { bytes: Uint8Array; providerKey: ProviderKey } {
  return createBundle({
    ...options,
    head: split.head ? encodeModel(split.head) : new Uint8Array(0), tail: encodeModel(split.tail),
    inputs: split.cutTensors, outputs: split.tailOutputs, headInputs: split.inputs,
  });
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
  const outputPolicy = typeof options.outputPolicy === 'string' ? parseOutputPolicy(options.outputPolicy) : options.outputPolicy ?? PROBABILITIES;
  // The header shows only what the policy produces; the policy itself is sealed with the tail (§5.6).
  const outputs = policyOutputSpecs(outputPolicy, options.outputs);
  // Both records sealed after the tail: policy (§5.6), then watermark (§5.7); the header shows neither.
  const policyRecord = concatBytes(encodePolicyRecord(outputPolicy), watermarkRecord(options, secrets.modelKey));
  const paddedSize = bucketSize(options.tail.byteLength + policyRecord.byteLength, options.bucketMinSize ?? DEFAULT_BUCKET_MIN_SIZE);
  const signingPublicKey = ed25519PublicKeyOf(secrets.signingKey);
  const modelId = options.modelId ?? `model-${toHex(randomBytes(8))}`;
  const header: BundleHeader = {
    formatVersion: BUNDLE_FORMAT_VERSION,
    modelId,
    providerKey: toHex(signingPublicKey),
    headInputs: specs(options.headInputs),
    inputs: specs(options.inputs),
    outputs,
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

  const padded = padTail(options.tail, paddedSize, policyRecord);
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

/**
 * The sealed watermark record (§5.7), empty without `options.watermark`: the half-space's
 * offset is set so that the fraction `rate` of the calibration rows scores above it under this
 * bundle's key. Throws `WATERMARK` when the model cannot carry it or calibration is too small.
 */
function watermarkRecord(options: CreateBundleOptions, modelKey: Uint8Array): Uint8Array {
  const w = options.watermark;
  if (!w) return new Uint8Array(0);
  const why = watermarkRefusal(options.inputs, options.outputs);
  if (why) throw new EnclaveNnError('WATERMARK', `Cannot watermark the bundle: ${why}`);
  const classes = options.outputs[0]!.shape[1] as number;
  const key = WatermarkKey.derive(modelKey, options.inputs, classes);
  let scores: Float64Array;
  try {
    scores = key.scores(w.calibration);
  } catch (cause) {
    throw new EnclaveNnError('WATERMARK', `Cannot watermark the bundle: the calibration rows do not fit the cut (${(cause as Error).message})`, { cause });
  }
  return encodeWatermarkRecord({ rate: w.rate, threshold: watermarkThreshold(scores, w.rate), classes });
}

/** Copies specs to exactly { name, dtype, shape } (the header allows no other fields). */
function specs(list: readonly TensorSpec[]): TensorSpec[] {
  return list.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] }));
}
