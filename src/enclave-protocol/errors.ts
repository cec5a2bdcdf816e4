/**
 * The stable error codes of the enclave protocol (docs/enclave-protocol.md §6). The number
 * travels in ERROR frames; the name is what `EnclaveNnError.code` carries on the host side
 * (prefixed `ENCLAVE_`, e.g. `ENCLAVE_STATE`).
 */
import { EnclaveNnError } from '../errors.ts';

/** Error code numbers by name (§6). Never renumber: they are on the wire. */
export const ERROR_CODES = {
  BAD_FRAME: 1,
  UNKNOWN_TYPE: 2,
  VERSION: 3,
  STATE: 4,
  BAD_PAYLOAD: 5,
  ATTEST: 6,
  PROVISION: 7,
  BUNDLE: 8,
  POLICY: 9,
  DECRYPT: 10,
  ENGINE: 11,
  INPUT: 12,
  SEAL: 13,
  INTERNAL: 14,
  LICENSE: 15,
  QUOTA: 16,
} as const;

/** A protocol error name. */
export type ProtocolErrorName = keyof typeof ERROR_CODES;

const NAME_BY_CODE = new Map<number, ProtocolErrorName>(Object.entries(ERROR_CODES).map(([k, v]) => [v, k as ProtocolErrorName]));

/** The name of a code number, or `INTERNAL` for a number this version does not know. */
export function errorNameOf(code: number): ProtocolErrorName {
  return NAME_BY_CODE.get(code) ?? 'INTERNAL';
}

/**
 * An error the enclave answers with an ERROR frame (and the host raises on receiving one).
 * `code` is `ENCLAVE_<name>`; `protocolCode` the wire name.
 *
 * @example
 * ```ts
 * throw new ProtocolError('STATE', 'Cannot forward: no model is loaded');
 * ```
 */
export class ProtocolError extends EnclaveNnError {
  /** The wire name (§6). */
  readonly protocolCode: ProtocolErrorName;

  constructor(name: ProtocolErrorName, message: string, options: { cause?: unknown } = {}) {
    super(`ENCLAVE_${name}`, message, { cause: options.cause, exitCode: name === 'INTERNAL' || name === 'ENGINE' ? 1 : 2 });
    this.protocolCode = name;
  }
}
