import { EnclaveNnError, errorLine } from '../errors.ts';
import type { CommandIO } from './command.ts';
import { commands } from './registry.ts';

const processIO: CommandIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  stderrIsTTY: process.stderr.isTTY === true,
};

function help(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const rows = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`);
  return `usage: enclave-nn <command> [options]\n\ncommands:\n${rows.join('\n')}\n\nenclave-nn <command> --help shows a command's options.\n`;
}

/**
 * Runs the CLI. Resolves to the exit code: 0 success, 2 bad usage or input, 1 internal failure.
 * Errors are printed as one line on stderr: `enclave-nn <command>: <what failed and why>`.
 */
export async function main(argv: string[], io: CommandIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(help());
    return name === undefined ? 2 : 0;
  }
  const entry = commands[name];
  if (!entry) {
    io.stderr(`enclave-nn: unknown command '${name}'; known: ${Object.keys(commands).join(', ')}\n`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(command.usage.endsWith('\n') ? command.usage : command.usage + '\n');
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    const code = e instanceof EnclaveNnError ? e.exitCode : 1;
    io.stderr(`enclave-nn ${name}: ${errorLine(e)}\n`);
    if (code === 2 && e instanceof EnclaveNnError && e.code === 'USAGE') io.stderr(command.usage.split('\n')[0] + '\n');
    if (code === 1 && process.env.ENCLAVE_NN_DEBUG) io.stderr(String((e as Error).stack) + '\n');
    return code;
  }
}
