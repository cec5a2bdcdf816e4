import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
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
 * Runs the CLI's `main()` in this process (no spawn, no tsx start: fast); returns its exit code
 * and output. `env` is what the command layer reads (CommandIO.env; `ENCLAVE_NN_HOME` stays
 * process-wide: see useTempEnclaveHome), `stop` ends a long-running command, `onStdout` sees
 * each write as it happens (a server's "listening on" line). `stderrIsTTY` pretends stderr is a
 * terminal (progress lines). The INSECURE banners go to process.stderr once per process: assert
 * them in the command's real-process test.
 */
export async function runMain(args: string[], options: { env?: NodeJS.ProcessEnv; stop?: AbortSignal; onStdout?: (text: string) => void; stderrIsTTY?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const { main } = await import('./main.ts');
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (t) => { stdout += t; options.onStdout?.(t); }, stderr: (t) => { stderr += t; },
    stderrIsTTY: options.stderrIsTTY, env: options.env && { ...process.env, ...options.env }, stop: options.stop,
  });
  return { code, stdout, stderr };
}

/**
 * Runs each case in-process and asserts the CLI's contract for bad usage: exit 2, one error line
 * on stderr matching its pattern (INSECURE banners and the usage line aside), and `mustNotExist`
 * not written.
 */
export async function assertUsageErrors(cases: readonly (readonly [readonly string[], RegExp])[], mustNotExist: string): Promise<void> {
  const { existsSync } = await import('node:fs');
  for (const [args, pattern] of cases) {
    const r = await runMain([...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.includes('INSECURE') && !l.startsWith('usage:') && l.trim() !== '');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, pattern);
    assert.ok(!existsSync(mustNotExist), `${args.join(' ')}: ${mustNotExist} was written`);
  }
}
