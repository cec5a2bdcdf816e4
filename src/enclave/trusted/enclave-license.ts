/**
 * The license protocol inside the trusted program (docs/license-protocol.md §6): the one
 * object the enclave state machine holds when it was provisioned with a license, and the
 * enclave messages 0x10–0x1F (enclave protocol §2) it answers. Errors are enclave protocol
 * errors: `QUOTA` when credits are exhausted, `LICENSE` for everything else.
 */
import { aeadOpen, aeadSeal, AEAD_NONCE_SIZE, concatBytes, randomBytes, x25519PublicKeyOf, zeroize, type X25519KeyPair } from '../../crypto/index.ts';
import { x25519PrivateKeyFromRaw, x25519PrivateKeyToRaw } from '../../crypto/x25519-raw.ts';
import { EnclaveNnError } from '../../errors.ts';
import { ProtocolError } from '../../enclave-protocol/errors.ts';
import { PayloadReader, PayloadWriter } from '../../enclave-protocol/payload.ts';
import type { TensorData } from '../../onnx/ort.ts';
import { LicenseEnforcer, type EnforcerStatus } from './enforcer.ts';
import { ExtractionMonitor } from './monitor.ts';

/** Enclave message types of the license protocol (§6.3); responses are `type | 0x80`. */
export const LICENSE_MSG = {
  /** empty → `str usageReportToken` (a new sequence number each time). */
  USAGE_REPORT: 0x10,
  /** `str grantToken` → empty. */
  GRANT: 0x11,
  /** empty (state `attested`) → `bytes blob`: the pending key sealed for an air-gapped request. */
  PENDING_SEAL: 0x12,
  /** `bytes blob` (state `hello`) → empty; the enclave is `attested` again with that key. */
  PENDING_UNSEAL: 0x13,
} as const;

/** True for the request types this module answers. */
export function isLicenseMessage(type: number): boolean {
  return type === LICENSE_MSG.USAGE_REPORT || type === LICENSE_MSG.GRANT;
}

/** What an air-gapped request must keep across processes (§4.6): the ephemeral key and the attestation it answered. */
export interface PendingProvision {
  keyPair: X25519KeyPair;
  nonce: Uint8Array;
  evidence: Uint8Array;
}

const PENDING_LABEL = new TextEncoder().encode('enclave-nn/v1/pending-provision');

/**
 * PENDING_SEAL (§6.3): seals the ephemeral X25519 key with the nonce and evidence it attested,
 * to the platform sealing key (AAD = label ‖ measurement): only this trusted program on this
 * installation can open it, so the license response can be unwrapped in a later process.
 * `blob = u8 1 ‖ nonce(12) ‖ AES-256-GCM(sealKey, u8[32] private ‖ bytes nonce ‖ bytes evidence)`.
 */
export function sealPending(sealKey: Uint8Array, measurement: Uint8Array, p: PendingProvision): Uint8Array {
  const raw = x25519PrivateKeyToRaw(p.keyPair.privateKey);
  const plain = concatBytes(raw, ...new PayloadWriter().bytes(p.nonce).bytes(p.evidence).finish());
  // A random nonce: the sealing key is long-lived.
  const nonce = randomBytes(AEAD_NONCE_SIZE);
  try {
    return concatBytes(Uint8Array.of(1), nonce, aeadSeal(sealKey, nonce, plain, concatBytes(PENDING_LABEL, measurement)));
  } finally {
    zeroize(raw, plain);
  }
}

/** PENDING_UNSEAL (§6.3): the inverse of {@link sealPending}; throws the enclave protocol's `SEAL`. */
export function unsealPending(sealKey: Uint8Array, measurement: Uint8Array, blob: Uint8Array): PendingProvision {
  let plain: Uint8Array;
  try {
    if (blob.byteLength < 1 + AEAD_NONCE_SIZE || blob[0] !== 1) throw new TypeError('not a version-1 pending blob');
    plain = aeadOpen(sealKey, blob.subarray(1, 1 + AEAD_NONCE_SIZE), blob.subarray(1 + AEAD_NONCE_SIZE), concatBytes(PENDING_LABEL, measurement));
  } catch (cause) {
    throw new ProtocolError('SEAL', 'Cannot unseal the pending license request: sealed by another program or installation, or modified', { cause });
  }
  try {
    const r = new PayloadReader(plain, 32);
    const nonce = r.bytes('nonce').slice();
    const evidence = r.bytes('evidence').slice();
    r.end();
    const priv = x25519PrivateKeyFromRaw(plain.subarray(0, 32));
    return { keyPair: { privateKey: priv, publicKey: x25519PublicKeyOf(priv) }, nonce, evidence };
  } finally {
    zeroize(plain);
  }
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);
/** First byte of a sealed license state that carries the monitor's state (§6.1); 2 = the license state alone (read, never written). */
const MONITORED_STATE = 3;

function asProtocolError(e: unknown): unknown {
  if (!(e instanceof EnclaveNnError) || e instanceof ProtocolError) return e;
  return new ProtocolError(e.code === 'LICENSE_QUOTA' ? 'QUOTA' : 'LICENSE', e.message, { cause: e });
}

/**
 * The license of a provisioned enclave.
 *
 * @example
 * ```ts
 * // in the trusted program, at LOAD_BEGIN, once the header (provider key) is verified:
 * this.#lic = EnclaveLicense.open(this.#license, header);
 * // FORWARD:
 * this.#lic?.admit(samples);
 * ```
 */
export class EnclaveLicense {
  readonly #e: LicenseEnforcer;
  /** The extraction monitor of this license's enclave (§5.2.1): its state is sealed with the license state. */
  readonly #m: ExtractionMonitor;
  private constructor(e: LicenseEnforcer, m: ExtractionMonitor = new ExtractionMonitor()) { this.#e = e; this.#m = m; }

  /**
   * Opens the license bytes a PROVISION or UNSEAL delivered (a license package, a sealed
   * license state, or a sealed license state with the monitor's, §6.1) against the verified
   * bundle header. Empty bytes → undefined: no license, no metering, no monitor (the
   * development key path). Throws `LICENSE` when the license does not verify, names another
   * model or is outside its window, or the monitor's state is malformed.
   */
  static open(bytes: Uint8Array, header: { modelId: string; providerKey: string }, now: number = nowSeconds()): EnclaveLicense | undefined {
    if (bytes.byteLength === 0) return undefined;
    const o = { modelId: header.modelId, providerKey: new Uint8Array(Buffer.from(header.providerKey, 'hex')), now };
    try {
      if (bytes[0] !== MONITORED_STATE) return new EnclaveLicense(bytes[0] === 2 ? LicenseEnforcer.fromState(bytes, o) : LicenseEnforcer.fromPackage(bytes, o));
      const n = bytes.byteLength >= 5 ? new DataView(bytes.buffer, bytes.byteOffset).getUint32(1) : Infinity;
      if (5 + n > bytes.byteLength) throw new EnclaveNnError('LICENSE_STATE', 'Cannot restore license state: truncated');
      let monitor: ExtractionMonitor;
      try {
        monitor = ExtractionMonitor.fromState(bytes.subarray(5 + n));
      } catch (cause) {
        throw new EnclaveNnError('LICENSE_STATE', `Cannot restore license state: the monitor's state is malformed (${(cause as Error).message})`, { cause });
      }
      return new EnclaveLicense(LicenseEnforcer.fromState(bytes.subarray(5, 5 + n), o), monitor);
    } catch (e) {
      throw asProtocolError(e);
    }
  }

  /** Counts `samples` before a FORWARD; throws `QUOTA` / `LICENSE` (nothing counted then). */
  admit(samples: number, now: number = nowSeconds()): void {
    try {
      this.#e.admit(samples, now);
    } catch (e) {
      throw asProtocolError(e);
    }
  }

  /** Gives back samples of a FORWARD that failed in the engine. */
  refund(samples: number): void { this.#e.refund(samples); }

  /**
   * Shows one FORWARD to the extraction monitor: the cut tensors and the tail's raw outputs
   * (before the output policy). Nothing leaves the enclave but the verdict in usage reports.
   */
  observe(feeds: Record<string, TensorData>, outputs: Record<string, TensorData>): void { this.#m.observe(feeds, outputs); }

  /**
   * The bytes SEAL stores in place of the license (§6.1): `u8 3 ‖ u32 BE n ‖ license state (n
   * bytes) ‖ monitor state` — counters, report key and the monitor's query sketches, which
   * leave the enclave only inside the sealed blob.
   */
  sealable(): Uint8Array {
    const e = this.#e.exportState();
    const head = new Uint8Array(5);
    head[0] = MONITORED_STATE;
    new DataView(head.buffer).setUint32(1, e.byteLength);
    const m = this.#m.exportState();
    try {
      return concatBytes(head, e, m);
    } finally {
      zeroize(e, m);
    }
  }

  /** Answers a license message (§6.3). */
  handle(type: number, r: PayloadReader): Uint8Array[] {
    try {
      if (type === LICENSE_MSG.USAGE_REPORT) {
        r.end();
        return new PayloadWriter().str(this.#e.usageReport(nowSeconds(), this.#m.verdict())).finish();
      }
      const grant = r.str('grant');
      r.end();
      this.#e.applyGrant(grant);
      return [];
    } catch (e) {
      throw asProtocolError(e);
    }
  }

  /** For STATUS: counters, no secrets. */
  status(): EnforcerStatus { return this.#e.status(); }

  /** Overwrites the report key (CLOSE). */
  destroy(): void { this.#e.destroy(); }
}
