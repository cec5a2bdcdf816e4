/**
 * The public types of the `.enn` bundle (docs/bundle-format.md). Read this file for the API;
 * the implementation lives beside it.
 */
import type { TensorData } from '../onnx/ort.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';
import type { OutputPolicy } from './output-policy.ts';

/** One accepted platform kind and its accepted measurements (docs/bundle-format.md §4.5). */
export interface PlatformPolicy {
  /** Platform kind, e.g. `'sim'` or `'gramine-sgx'`. */
  kind: string;
  /** Lowercase hex measurements (MRENCLAVE, sim measurement…). Empty = any measurement (development only, unless `mrSigners` is set). */
  measurements: string[];
  /** Accepted signers (MRSIGNER, 32 bytes, lowercase hex); absent = any signer. */
  mrSigners?: string[];
  /** The lowest accepted security version (ISVSVN, 0..65535). @defaultValue 0 */
  minIsvSvn?: number;
}

/** Which enclaves may receive the model key (docs/bundle-format.md §4.5). */
export interface EnclavePolicy {
  /** One or more accepted platform kinds; a kind not listed is refused. */
  platforms: PlatformPolicy[];
}

/** Sealed tail parameters, as in the header (docs/bundle-format.md §5.4). */
export interface SealedTailParams {
  /** Always `'AES-256-GCM-STREAM'`. */
  aead: 'AES-256-GCM-STREAM';
  /** Plaintext bytes per chunk (the last chunk may be shorter). */
  chunkSize: number;
  /** Number of chunks = ceil(paddedSize / chunkSize). */
  chunkCount: number;
  /** Size of the padded plaintext: the size bucket. */
  paddedSize: number;
  /** The 7-byte STREAM nonce prefix, lowercase hex. */
  noncePrefix: string;
  /** HKDF(K, 'enclave-nn/v1/key-commitment'), lowercase hex: tells a wrong key from tampering. */
  keyCommitment: string;
}

/** The signed public header (docs/bundle-format.md §4.3). Field names are as on disk. */
export interface BundleHeader {
  /** Equals the framing version (1). */
  formatVersion: number;
  /** The model's id (licenses and key files name it). */
  modelId: string;
  /** The provider's Ed25519 public key, lowercase hex. */
  providerKey: string;
  /** Inputs of the public head (= inputs of the model). */
  headInputs: TensorSpec[];
  /** The cut: outputs of the head = inputs of the sealed tail. */
  inputs: TensorSpec[];
  /** Outputs of the tail (= outputs of the model). */
  outputs: TensorSpec[];
  /** Size and SHA-256 (lowercase hex) of the head ONNX bytes. */
  head: { sha256: string; size: number };
  /** How the tail is sealed. */
  tail: SealedTailParams;
  /** Which enclaves may receive the model key. */
  policy: EnclavePolicy;
  /** The provider's license server, if any. */
  licenseServer?: string;
}

/** A bundle read and verified by `readBundle` (magic, version, header signature, head hash, sizes). */
export interface Bundle {
  /** The parsed, validated header. */
  header: BundleHeader;
  /** The exact header bytes (canonical JSON) that were signed. */
  headerBytes: Uint8Array;
  /** SHA-256(headerBytes): the sealed tail's AAD. */
  headerHash: Uint8Array;
  /** The provider's Ed25519 signature over the header (§4.4). */
  signature: Uint8Array;
  /** The public head ONNX bytes (a view into the file bytes). */
  head: Uint8Array;
  /** The sealed tail: nonce prefix and the sealed chunks in order (views into the file bytes). */
  sealedTail: { noncePrefix: Uint8Array; chunks: Uint8Array[] };
  /** What error messages call the bundle (its path, or `'<bytes>'`). */
  source: string;
}

/**
 * The provider's secrets for one bundle. Never ship it; store it with mode 0600
 * (`writeProviderKeyFile`).
 */
export interface ProviderKey {
  /** The model id of the bundle this key opens. */
  modelId: string;
  /** The 32-byte model key K (secret). */
  modelKey: Uint8Array;
  /** The provider's 32-byte Ed25519 seed (secret). */
  signingKey: Uint8Array;
  /** The provider's 32-byte Ed25519 public key. */
  signingPublicKey: Uint8Array;
}

/** Options of `createBundle`. */
export interface CreateBundleOptions {
  /** The public head ONNX bytes. */
  head: Uint8Array;
  /** The private tail ONNX bytes (sealed; never written in the clear). */
  tail: Uint8Array;
  /** The cut: tail inputs (= head outputs). */
  inputs: TensorSpec[];
  /** The model's outputs (= tail outputs, as the tail computes them; the header lists what the output policy makes of them). */
  outputs: TensorSpec[];
  /**
   * How the enclave shapes the answers (docs/bundle-format.md §5.6), sealed inside the tail's
   * ciphertext: a policy string such as `'label'`, `'top-k:3'`, `'round:2'`,
   * `'perturb:reverse-sigmoid:0.5'`, or a parsed policy. @defaultValue `'probabilities'` (the outputs as they are)
   */
  outputPolicy?: OutputPolicy | string;
  /**
   * Watermark the answers (docs/bundle-format.md §5.7), sealed inside the tail's ciphertext:
   * the fraction `rate` (in (0, 0.5]) of inputs like `calibration` — cut tensors (head
   * outputs) of at least 100 rows of the provider's data — are answered with a keyed label.
   * @defaultValue none (no watermark)
   */
  watermark?: { rate: number; calibration: Record<string, TensorData> };
  /** The head's inputs (= model inputs). */
  headInputs: TensorSpec[];
  /** The model id. @defaultValue `'model-'` + 16 random hex digits */
  modelId?: string;
  /** Which enclaves may receive the key. @defaultValue `{ platforms: [{ kind: 'sim', measurements: [] }] }` */
  policy?: EnclavePolicy;
  /** The license server URL, if any. @defaultValue none */
  licenseServer?: string;
  /** Smallest size bucket, a power of two ≥ 4096. @defaultValue 65536 */
  bucketMinSize?: number;
  /** STREAM chunk size, 256 … 16 MiB. @defaultValue 65536 */
  chunkSize?: number;
  /** Reuse an existing provider signing key (32-byte Ed25519 seed) so customers can pin it. @defaultValue a fresh key */
  signingKey?: Uint8Array;
}

/** Options of `readBundle`. */
export interface ReadBundleOptions {
  /** The path, for error messages. @defaultValue `'<bytes>'` */
  path?: string;
  /** Pin the provider: reject unless the header's `providerKey` is this 32-byte key. @defaultValue no pinning */
  providerKey?: Uint8Array;
}
