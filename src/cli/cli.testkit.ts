import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root and the real `enclave-nn` binary, for tests that run the CLI as a process. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/enclave-nn.js', import.meta.url));

/** Runs `enclave-nn …` as a real process; returns its exit code and output. */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT, env: { ...process.env, ...options.env }, input: options.input,
    encoding: 'utf8', timeout: options.timeoutMs ?? 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs the CLI's `main()` in this process (no spawn: fast); returns its exit code and output.
 * `stderrIsTTY` pretends stderr is a terminal (progress lines).
 */
export async function runMain(args: string[], options: { stderrIsTTY?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const { main } = await import('./main.ts');
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, stderrIsTTY: options.stderrIsTTY });
  return { code, stdout, stderr };
}
