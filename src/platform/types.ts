/**
 * The TEE platform interface: what the trusted program asks of the machine it runs on
 * (docs/enclave-protocol.md §7). Tiny on purpose (STYLE.md 3): `sim` implements it for any
 * machine, INSECURE; `gramine-sgx` is meant to implement the same four members.
 */
export interface Platform {
  /** The platform kind, as bundle policies name it: `'sim'`, `'gramine-sgx'`, … */
  readonly kind: string;
  /** The measurement of the running trusted program (sim: SHA-256 of its file; SGX: MRENCLAVE). */
  measurement(): Uint8Array;
  /**
   * Evidence that this trusted program on this platform chose `reportData` (64 bytes, e.g.
   * SHA-512(enclave key ‖ nonce)): an SGX DCAP quote v3 in both sim and SGX modes.
   */
  evidence(reportData: Uint8Array): Promise<Uint8Array>;
  /** A 32-byte key only this trusted program on this installation can derive (sealed state). */
  sealingKey(): Uint8Array;
}

/** What a platform factory gets. */
export interface PlatformOptions {
  /** Absolute path of the trusted program file (what `sim` measures). */
  programPath: string;
  /** The per-user state directory. @defaultValue `$ENCLAVE_NN_HOME` or `~/.enclave-nn` */
  home?: string;
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
export type Launcher = (program: string, args: string[]) => { file: string; args: string[] };
