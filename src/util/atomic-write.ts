import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EnclaveNnError } from '../errors.ts';

/** One file to write: its path, bytes and optional mode (e.g. 0o600 for key files). */
export interface PendingFile {
  path: string;
  bytes: Uint8Array | string;
  mode?: number;
}

/**
 * Writes several files all-or-nothing: each goes to a temporary file beside its target, and only
 * when every one is written and synced are they renamed into place. On any failure the temporary
 * files are removed and nothing is left half-written. Throws FILE_WRITE naming the path.
 */
export function writeFilesAtomic(files: PendingFile[]): void {
  const temps: string[] = [];
  try {
    for (const f of files) {
      const tmp = join(dirname(f.path), `.${basename(f.path)}.tmp-${process.pid}-${Date.now().toString(36)}`);
      let fd: number;
      try {
        fd = openSync(tmp, 'wx', f.mode ?? 0o644);
      } catch (e) {
        throw new EnclaveNnError('FILE_WRITE', `Cannot write ${f.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
      }
      temps.push(tmp);
      try {
        const data = typeof f.bytes === 'string' ? Buffer.from(f.bytes) : f.bytes;
        let off = 0;
        while (off < data.length) off += writeSync(fd, data, off, data.length - off);
        fsyncSync(fd);
      } catch (e) {
        throw new EnclaveNnError('FILE_WRITE', `Cannot write ${f.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
      } finally {
        closeSync(fd);
      }
    }
    files.forEach((f, i) => renameSync(temps[i]!, f.path));
    temps.length = 0;
  } finally {
    for (const t of temps) rmSync(t, { force: true });
  }
}

/** Writes one file atomically (see {@link writeFilesAtomic}). */
export function writeFileAtomic(path: string, bytes: Uint8Array | string, mode?: number): void {
  writeFilesAtomic([{ path, bytes, mode }]);
}
