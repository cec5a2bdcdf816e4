/**
 * Test helper: a dist/ built from the current sources. Tests that run the compiled package (the
 * packed tarball, the library example under plain node) call {@link ensureDist}: it runs
 * `npm run build` when dist/build.json is missing or older than any source, one build at a time
 * across test processes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO = fileURLToPath(new URL('../', import.meta.url));
const STAMP = join(REPO, 'dist', 'build.json');
const INPUTS = ['src', 'examples', 'scripts/build.ts', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

function newest(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).filter((n) => n !== 'node_modules').map((n) => newest(join(path, n))));
}

const fresh = (): boolean => existsSync(STAMP) && statSync(STAMP).mtimeMs >= Math.max(...INPUTS.map((p) => newest(join(REPO, p))));

/** Builds dist/ unless it is newer than every source; throws with the build's output on failure. */
export async function ensureDist(): Promise<void> {
  if (fresh()) return;
  const lock = join(REPO, 'node_modules', '.cache', 'enclave-nn', 'build.lock');
  mkdirSync(join(lock, '..'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // Another test process builds: wait for it (a lock older than 15 minutes is stale).
      if (Date.now() - statSync(lock).mtimeMs > 900_000) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    if (fresh()) return;
    writeFileSync(join(lock, 'pid'), String(process.pid));
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'scripts/build.ts')], { cwd: REPO, encoding: 'utf8', timeout: 900_000 });
    if (r.status !== 0) throw new Error(`npm run build failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
