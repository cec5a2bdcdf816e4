/**
 * `attack --save-substitutes DIR` (docs/attack.md §6): every trained substitute as the attacker
 * would keep it — the split's public head and the substitute tail as ONNX files, and
 * `substitutes.json` naming them with their test accuracy as measured in TF.js. The folder is
 * written whole or not at all (a temporary sibling, renamed at the end).
 * @module
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EnclaveNnError } from '../errors.ts';
import type { SavedSubstitute } from './evaluate.ts';

/** One line of `substitutes.json`. */
export interface SavedSubstituteEntry {
  k: number;
  defence: string;
  attacker: string;
  queries: number;
  seed: number;
  /** The head's file in the folder; null when the whole model is private (the cut is the model input). */
  head: string | null;
  /** The substitute tail's file: cut tensors in, probabilities out. */
  tail: string;
  /** Accuracy of head + substitute on the evaluator's test set, as measured in TF.js. */
  substituteAccuracy: number;
}

/** A defence as a file-name part: `top-k:1` → `top-k-1`. */
const slug = (s: string) => s.replace(/[^A-Za-z0-9.-]+/g, '-');

/**
 * Refuses an output folder that already holds files, before any work is done.
 * Throws USAGE naming the folder.
 */
export function checkSubstituteDir(dir: string): void {
  let entries: string[] = [];
  try { entries = readdirSync(dir); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new EnclaveNnError('USAGE', `Cannot use --save-substitutes ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  if (entries.length > 0) throw new EnclaveNnError('USAGE', `Cannot use --save-substitutes ${dir}: the folder exists and is not empty`);
}

/**
 * Writes `saved` into `dir` (which must not exist or be empty): `k<K>-head.onnx` per split with a
 * public head, `k<K>-<defence>-<attacker>-q<Q>-s<seed>.onnx` per substitute, `substitutes.json`.
 * Returns the entries written.
 *
 * @example
 * ```ts
 * const saved: SavedSubstitute[] = [];
 * await evaluateProtection(model, { ...options, saveSubstitute: (s) => { saved.push(s); } });
 * writeSubstitutes('out/substitutes', saved);
 * ```
 */
export function writeSubstitutes(dir: string, saved: SavedSubstitute[]): SavedSubstituteEntry[] {
  checkSubstituteDir(dir);
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  const entries: SavedSubstituteEntry[] = [];
  try {
    mkdirSync(tmp, { recursive: true });
    const heads = new Set<number>();
    for (const s of saved) {
      const head = s.head.byteLength > 0 ? `k${s.k}-head.onnx` : null;
      if (head && !heads.has(s.k)) { writeFileSync(join(tmp, head), s.head); heads.add(s.k); }
      const tail = `k${s.k}-${slug(s.defence)}-${s.attacker}-q${s.queries}-s${s.seed}.onnx`;
      writeFileSync(join(tmp, tail), s.tail);
      entries.push({ k: s.k, defence: s.defence, attacker: s.attacker, queries: s.queries, seed: s.seed, head, tail, substituteAccuracy: s.substituteAccuracy });
    }
    writeFileSync(join(tmp, 'substitutes.json'), JSON.stringify(entries, null, 2) + '\n');
    if (existsSync(dir)) rmdirSync(dir); // empty (checked above): rmdir refuses anything else
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof EnclaveNnError) throw e;
    throw new EnclaveNnError('FILE_WRITE', `Cannot write substitutes to ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  return entries;
}
