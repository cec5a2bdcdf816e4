/**
 * What every `examples/<model>/build.ts` shares: its command line
 * (`--out DIR [--epochs N] [--quick] [--seed S]`) and the optional ONNX export through the
 * project's importer.
 * @module
 */
import { parseArgs } from 'node:util';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EnclaveNnError, errorLine } from '../../src/errors.ts';

/** Options every example build accepts. */
export interface BuildOptions {
  /** output directory; the model goes to `out/tfjs/`, the ONNX file to `out/model.onnx` */
  out: string;
  /** training epochs (each example has its own default) */
  epochs?: number;
  /** a short training on a subset (seconds, not minutes) */
  quick?: boolean;
  /** seed for weights, dropout and data order @defaultValue 42 */
  seed?: number;
  /** where progress lines go @defaultValue console.log */
  log?: (line: string) => void;
}

/**
 * Parses `--out DIR [--epochs N] [--quick] [--seed S]`; prints usage and exits 2 on bad input.
 *
 * @param argv arguments after the script name
 * @param name the script's name for the usage line
 */
export function parseBuildArgs(argv: string[], name: string): BuildOptions {
  const usage = `usage: node --import tsx examples/${name}/build.ts --out DIR [--epochs N] [--quick] [--seed S]`;
  try {
    const { values } = parseArgs({ args: argv, options: {
      out: { type: 'string' }, epochs: { type: 'string' }, quick: { type: 'boolean' }, seed: { type: 'string' },
    } });
    if (!values.out) throw new Error('--out is required');
    const int = (v: string | undefined, what: string): number | undefined => {
      if (v === undefined) return undefined;
      if (!/^\d+$/.test(v)) throw new Error(`${what} must be a non-negative integer, got ${v}`);
      return Number(v);
    };
    return { out: values.out, epochs: int(values.epochs, '--epochs'), quick: values.quick ?? false, seed: int(values.seed, '--seed') };
  } catch (e) {
    process.stderr.write(`Cannot parse arguments: ${(e as Error).message}\n${usage}\n`);
    process.exit(2);
  }
}

/**
 * Runs a build script's main function: on failure prints one line on stderr (no stack) and exits
 * with the error's exit code (an EnclaveNnError's, else 1).
 *
 * @param main the script's body
 */
export async function runMain(main: () => Promise<unknown>): Promise<void> {
  try {
    await main();
  } catch (e) {
    process.stderr.write(`${errorLine(e)}\n`);
    process.exit(e instanceof EnclaveNnError ? e.exitCode : 1);
  }
}

/** Repository root (two levels above this file). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Imports `tfjsModelJson` to `onnxPath` with the project's importer (`src/import/index.ts`,
 * `importModel`) when it exists; otherwise prints a note and returns false. The file is written
 * to a temporary name and renamed.
 *
 * @param tfjsModelJson path of the saved model.json
 * @param onnxPath target .onnx path
 * @param log where the note goes @defaultValue console.log
 * @returns whether model.onnx was written
 */
export async function exportOnnxIfAvailable(tfjsModelJson: string, onnxPath: string, log: (line: string) => void = console.log): Promise<boolean> {
  const entry = join(repoRoot, 'src', 'import', 'index.ts');
  if (!existsSync(entry)) {
    log(`note: src/import/index.ts does not exist yet; skipped ${onnxPath} (run \`enclave-nn import ${tfjsModelJson} -o ${onnxPath}\` later)`);
    return false;
  }
  try {
    const mod = (await import(pathToFileURL(entry).href)) as { importModel?: (path: string) => unknown };
    if (typeof mod.importModel !== 'function') {
      log(`note: src/import/index.ts exports no importModel(); skipped ${onnxPath}`);
      return false;
    }
    const result = await mod.importModel(tfjsModelJson);
    let bytes: Uint8Array;
    if (result instanceof Uint8Array) bytes = result;
    else {
      const { encodeModel } = (await import(pathToFileURL(join(repoRoot, 'src', 'onnx', 'codec.ts')).href)) as { encodeModel: (m: unknown) => Uint8Array };
      bytes = encodeModel(result);
    }
    const tmp = `${onnxPath}.tmp-${process.pid}`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, onnxPath);
    log(`wrote ${onnxPath} (${bytes.byteLength} bytes)`);
    return true;
  } catch (e) {
    log(`note: importing ${tfjsModelJson} to ONNX failed, skipped ${onnxPath}: ${(e as Error).message}`);
    return false;
  }
}
