import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnclaveNnError, errorLine } from '../errors.ts';
import { nearestList } from '../util/nearest.ts';
import type { CommandIO } from './command.ts';
import { commands } from './registry.ts';

const processIO: CommandIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  stderrIsTTY: process.stderr.isTTY === true,
};

/** The package's version: from the nearest package.json named enclave-nn above this file (src/ or a build). */
export function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'enclave-nn' && pkg.version) return pkg.version;
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

/**
 * A reader that stops early (`enclave-nn … | head`) closes the pipe: the next write fails with
 * EPIPE. That is the reader's choice, not a failure: exit quietly instead of a stack trace.
 */
function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
}

function help(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const rows = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`);
  return `usage: enclave-nn <command> [options]\n\ncommands:\n${rows.join('\n')}\n\nenclave-nn <command> --help (or enclave-nn help <command>) shows a command's options; --version prints the version.\n`;
}

/**
 * Runs the CLI. Resolves to the exit code: 0 success, 2 bad usage or input, 1 internal failure.
 * Errors are printed as one line on stderr: `enclave-nn <command>: <what failed and why>`.
 */
export async function main(argv: string[], io: CommandIO = processIO): Promise<number> {
  if (io === processIO) exitQuietlyOnClosedPipe();
  let [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    io.stdout(`enclave-nn ${packageVersion()}\n`);
    return 0;
  }
  // `enclave-nn help <command>` is `enclave-nn <command> --help`.
  if (name === 'help' && rest[0] !== undefined) [name, rest] = [rest[0], ['--help']];
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(help());
    return name === undefined ? 2 : 0;
  }
  const entry = commands[name];
  if (!entry) {
    io.stderr(`enclave-nn: unknown command '${name}'; known: ${nearestList(name, Object.keys(commands), 16)}\n`);
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
