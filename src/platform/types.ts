/**
 * The TEE platform interface: what the trusted program asks of the machine it runs on
 * (docs/enclave-protocol.md §7). Tiny on purpose (STYLE.md 3): `sim` implements it for any
 * machine, INSECURE; `gramine-sgx` implements the same members, and one conformance suite
 * (conformance.test.ts) holds both to them.
 */
export interface Platform {
  /** The platform kind, as bundle policies name it: `'sim'`, `'gramine-sgx'`, … */
  readonly kind: string;
  /** The measurement of the running trusted program (sim: SHA-256 of its file; SGX: MRENCLAVE). */
  measurement(): Uint8Array;
  /** Who signed the running program and which version it is (SGX: from its own report). */
  identity(): ProgramIdentity;
  /**
   * Evidence that this trusted program on this platform chose `reportData` (64 bytes, e.g.
   * SHA-512(enclave key ‖ nonce)): an SGX DCAP quote v3 in both sim and SGX modes.
   */
  evidence(reportData: Uint8Array): Promise<Uint8Array>;
  /** How {@link sealingKey} is bound: to the signer (default) or to this exact measurement. */
  readonly sealPolicy: SealPolicy;
  /**
   * A 32-byte key only programs of this seal policy, product id and installation can derive,
   * for the security version `isvSvn` (SGX EGETKEY semantics: a program derives keys of its own
   * ISVSVN and, where the platform allows, lower ones — never higher). Throws
   * `PLATFORM_SEAL_SVN` for a version above its own.
   *
   * @param isvSvn @defaultValue this program's ISVSVN
   */
  sealingKey(isvSvn?: number): Uint8Array;
}

/**
 * What sealing keys are bound to (docs/enclave-protocol.md §7). `mrsigner` (Gramine
 * `_sgx_mrsigner`): every program by the same signer with the same product id, so sealed state
 * survives an upgrade of Node, onnxruntime or our code. `mrenclave` (`_sgx_mrenclave`): only
 * this exact program.
 */
export type SealPolicy = 'mrsigner' | 'mrenclave';

/** The seal policies, default first. */
export const SEAL_POLICIES: readonly SealPolicy[] = ['mrsigner', 'mrenclave'];

/** The running program's signer and version (SGX: MRSIGNER, ISVPRODID, ISVSVN of its report). */
export interface ProgramIdentity {
  /** 32 bytes. */
  mrSigner: Uint8Array;
  /** 0..65535 (SGX `sgx.isvprodid`). */
  isvProdId: number;
  /** 0..65535 (SGX `sgx.isvsvn`): raised for a security fix. */
  isvSvn: number;
}

/** What a platform factory gets. */
export interface PlatformOptions {
  /** Absolute path of the trusted program file (what `sim` measures). */
  programPath: string;
  /** The per-user state directory. @defaultValue `$ENCLAVE_NN_HOME` or `~/.enclave-nn` */
  home?: string;
  /** @defaultValue 'mrsigner' */
  sealPolicy?: SealPolicy;
  /**
   * sim only (SGX reads them from its own report): the product id and security version the
   * simulated program claims. @defaultValue 1 and 1, as `enclave-nn gramine manifest` writes.
   */
  isvProdId?: number;
  /** sim only; see {@link PlatformOptions.isvProdId}. @defaultValue 1 */
  isvSvn?: number;
}

/** Creates a platform inside the trusted program. */
export type PlatformFactory = (options: PlatformOptions) => Platform;

/**
 * How the host starts the trusted program on a platform: given the program file and its
 * arguments, the command to spawn (`gramine-sgx <dir>/enclave-nn` on SGX).
 *
 * @example
 * ```ts
 * const direct: Launcher = (program, args) => ({ file: process.execPath, args: [program, ...args] });
 * ```
 */
export type Launcher = (program: string, args: string[]) => { file: string; args: string[]; cwd?: string };
