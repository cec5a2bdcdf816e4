/**
 * The one domain error class (STYLE.md 12). Callers catch `EnclaveNnError` and switch on
 * its stable `code`; the message says the action, then the state:
 * `Cannot open bundle model.enn: header signature does not verify`.
 *
 * `exitCode` is what the CLI exits with: 2 for bad usage or bad input, 1 for internal failures.
 *
 * @example
 * ```ts
 * throw new EnclaveNnError('BUNDLE_SIGNATURE', `Cannot open bundle ${path}: header signature does not verify`);
 * ```
 */
export class EnclaveNnError extends Error {
  override readonly name = 'EnclaveNnError';
  /** A stable, SCREAMING_SNAKE code callers may switch on. */
  readonly code: string;
  /** 2 = bad usage or input (the default), 1 = internal failure. */
  readonly exitCode: 1 | 2;

  constructor(code: string, message: string, options: { cause?: unknown; exitCode?: 1 | 2 } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exitCode = options.exitCode ?? 2;
  }
}

/** True when `e` is an {@link EnclaveNnError} with the given code. */
export function isErrorCode(e: unknown, code: string): boolean {
  return e instanceof EnclaveNnError && e.code === code;
}

/** One line for a thrown value: the message of an Error, else its string form. */
export function errorLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!;
}
