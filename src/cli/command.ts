/**
 * The shape of one CLI command. Each command lives in its own file under `src/cli/commands/`
 * and is listed once in `src/cli/registry.ts`; logic lives in the modules, not here.
 */
export interface Command {
  /** The word after `enclave-nn`, e.g. `split`. */
  readonly name: string;
  /** One line for `enclave-nn --help`. */
  readonly summary: string;
  /** The usage text printed by `enclave-nn <name> --help` and on bad usage. */
  readonly usage: string;
  /** Runs the command; resolves to the process exit code. Throws EnclaveNnError on bad input. */
  run(argv: string[], io: CommandIO): Promise<number>;
}

/** Where a command writes. Tests pass buffers; the binary passes the process streams. */
export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** stderr is a terminal: live progress lines are drawn only then. @defaultValue false */
  stderrIsTTY?: boolean;
}
