import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from '../crypto/index.ts';
import { EnclaveNnError } from '../errors.ts';
import { readBundle } from './read.ts';
import type { Bundle, ReadBundleOptions } from './types.ts';

/**
 * Writes `bytes` to `path` atomically: a temporary file in the same directory (created
 * exclusively with `mode`), fsync, then rename over `path`. A crash or error leaves either the
 * old file or the new one, never half of one; the temporary file is removed on error.
 *
 * @example
 * ```ts
 * await writeFileAtomic('model.enn', bytes);
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, mode = 0o644): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${Buffer.from(randomBytes(6)).toString('hex')}.tmp`);
  let fh;
  try {
    fh = await open(tmp, 'wx', mode);
    await fh.chmod(mode); // the umask may have removed bits; 0600 must be exactly 0600
    await fh.writeFile(bytes);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
  } catch (e) {
    await fh?.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw new EnclaveNnError('WRITE_FAILED', `Cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Reads and verifies a bundle file (see `readBundle`); error messages name `path`.
 *
 * @example
 * ```ts
 * const bundle = await readBundleFile('model.enn');
 * ```
 */
export async function readBundleFile(path: string, options: Omit<ReadBundleOptions, 'path'> = {}): Promise<Bundle> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new EnclaveNnError('BUNDLE_READ', `Cannot open bundle ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { cause: e });
  }
  return readBundle(bytes, { ...options, path });
}

/**
 * Writes bundle bytes to `path` atomically (temporary file + rename; nothing half-written).
 *
 * @example
 * ```ts
 * await writeBundleFile('model.enn', createBundle(opts).bytes);
 * ```
 */
export async function writeBundleFile(path: string, bytes: Uint8Array): Promise<void> {
  await writeFileAtomic(path, bytes, 0o644);
}
