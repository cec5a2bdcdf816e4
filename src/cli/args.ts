import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EnclaveNnError } from '../errors.ts';

/**
 * Parses a command's arguments with node:util `parseArgs`, turning its errors into one-line
 * usage errors (exit code 2) that name the command.
 */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: string[],
  options: T,
): { values: ReturnType<typeof parseArgs<{ options: T; allowPositionals: true; args: string[] }>>['values']; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: r.values, positionals: r.positionals };
  } catch (e) {
    throw new EnclaveNnError('USAGE', `Cannot parse arguments of '${command}': ${(e as Error).message}`);
  }
}

/** Throws a usage error unless `value` is present. */
export function required<V>(command: string, what: string, value: V | undefined): V {
  if (value === undefined || value === '') {
    throw new EnclaveNnError('USAGE', `Cannot run '${command}': missing ${what}`);
  }
  return value;
}

/** Parses a positive integer option or throws a usage error naming it. */
export function intOption(command: string, flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new EnclaveNnError('USAGE', `Cannot run '${command}': ${flag} must be an integer, got '${value}'`);
  return n;
}
