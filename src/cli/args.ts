import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EnclaveNnError } from '../errors.ts';
import { nearestList } from '../util/nearest.ts';
import { isOrtThreadCount, MAX_ORT_THREADS } from '../enclave/engines/threads.ts';

/** A negative number given as an option's value (`--private -1`): a value, not an option. */
const NEGATIVE_NUMBER = /^-\d/;

/**
 * Parses a command's arguments with node:util `parseArgs`, turning its errors into one-line
 * usage errors (exit code 2) that name the command. A string option followed by a negative
 * number takes it as its value (so that the range check, not parseArgs' "ambiguous", answers
 * `--credits -5`); an unknown option names the command's options, nearest first.
 */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: string[],
  options: T,
): { values: ReturnType<typeof parseArgs<{ options: T; allowPositionals: true; args: string[] }>>['values']; positionals: string[] } {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const opt = a.startsWith('--') ? options[a.slice(2)] : a.length === 2 && a.startsWith('-') ? Object.values(options).find((o) => o.short === a[1]) : undefined;
    if (opt?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next) && !a.includes('=')) {
      const long = a.startsWith('--') ? a : `--${Object.entries(options).find(([, o]) => o === opt)![0]}`;
      args.push(`${long}=${next}`);
      i++;
    } else {
      args.push(a);
    }
  }
  try {
    const r = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: r.values, positionals: r.positionals };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const bad = /'([^']+)'/.exec((e as Error).message)?.[1] ?? '?';
      const known = Object.keys(options).map((k) => `--${k}`);
      throw new EnclaveNnError('USAGE', `Cannot run '${command}': unknown option '${bad}'; its options: ${nearestList(bad, known, 12)}`);
    }
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

/**
 * Parses an integer option (at least `min` when given) or throws a usage error naming it and
 * the range.
 */
export function intOption(command: string, flag: string, value: string | undefined, fallback: number, min?: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  const range = min === undefined ? 'an integer' : `an integer ≥ ${min}`;
  if (!Number.isInteger(n) || (min !== undefined && n < min)) throw new EnclaveNnError('USAGE', `Cannot run '${command}': ${flag} must be ${range}, got '${value}'`);
  return n;
}

/** `--ort-threads N`: onnxruntime intra-op threads in the enclave, an integer in 1..{@link MAX_ORT_THREADS}. */
export function ortThreadsOption(command: string, value: string): number {
  const n = intOption(command, '--ort-threads', value, 1, 1);
  if (!isOrtThreadCount(n)) throw new EnclaveNnError('USAGE', `Cannot run '${command}': --ort-threads must be an integer in 1..${MAX_ORT_THREADS}, got '${value}'`);
  return n;
}
