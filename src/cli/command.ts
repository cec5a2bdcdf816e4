/**
 * The shape of one CLI command. Each command lives in its own file under `src/cli/commands/`
 * and is listed once, with its one-line summary for `enclave-nn --help`, in `src/cli/registry.ts`
 * (so that the help loads no command); logic lives in the modules, not here.
 */
export interface Command {
  /** The word after `enclave-nn`, e.g. `split`. */
  readonly name: string;
  /** The usage text printed by `enclave-nn <name> --help` and on bad usage. */
  readonly usage: string;
  /** Runs the command; resolves to the process exit code. Throws EnclaveNnError on bad input. */
  run(argv: string[], io: CommandIO): Promise<number>;
}

/**
 * What a command talks to. The binary passes the process streams and environment; tests pass
 * buffers, their own variables and a stop signal, and run commands in-process through `main()`.
 */
export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** stderr is a terminal: live progress lines are drawn only then. @defaultValue false */
  stderrIsTTY?: boolean;
  /**
   * The variables the command layer reads (`ENCLAVE_NN_ADMIN_TOKEN`, `ENCLAVE_NN_LICENSE_SERVER`,
   * `ENCLAVE_NN_MASTER_KEY`, `ENCLAVE_NN_DEBUG`). Process-wide settings read below it
   * (`ENCLAVE_NN_HOME`, what an enclave inherits) always come from `process.env`.
   * @defaultValue process.env
   */
  env?: NodeJS.ProcessEnv;
  /** Ends a command that runs until stopped (license-server, serve), as SIGINT/SIGTERM do. */
  stop?: AbortSignal;
}

/** Resolves on SIGINT, SIGTERM or `io.stop`, whichever comes first (then forgets all three). */
export function untilStopped(io: CommandIO): Promise<void> {
  return new Promise<void>((done) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.stop?.removeEventListener('abort', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (io.stop?.aborted) stop();
    else io.stop?.addEventListener('abort', stop);
  });
}
