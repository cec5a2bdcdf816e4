import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, renameSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnclaveNnError } from '../errors.ts';
import { trustedProgramPath } from '../enclave/trusted-program.ts';
import { renderManifest } from './manifest.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Options of {@link prepareGramine}. */
export interface PrepareOptions {
  /** The output folder. */
  out: string;
  /** @defaultValue false */
  debug?: boolean;
  enclaveSize?: string;
  maxThreads?: number;
}

/** The shared libraries a binary loads, from `ldd` (absolute paths; the vDSO has none). */
export function sharedLibraries(binary: string): string[] {
  let text: string;
  try {
    text = execFileSync('ldd', [binary], { encoding: 'utf8' });
  } catch (e) {
    throw new EnclaveNnError('GRAMINE_LDD', `Cannot list the libraries of ${binary}: ldd failed (${(e as Error).message.split('\n')[0]})`, { exitCode: 1 });
  }
  return [...text.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]!);
}

function copyTree(from: string, to: string, keep: (rel: string) => boolean, base = from): string[] {
  const out: string[] = [];
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    const rel = relative(base, src);
    const dst = join(to, name);
    if (statSync(src).isDirectory()) {
      out.push(...copyTree(src, dst, keep, base));
    } else if (keep(rel)) {
      mkdirSync(dirname(dst), { recursive: true });
      copyFileSync(src, dst);
      out.push(dst);
    }
  }
  return out;
}

/**
 * Prepares a folder for Gramine: `enclave-nn/` holds the bundled trusted program and the
 * onnxruntime-node files it loads (JS, the N-API binding and libonnxruntime for linux-x64), and
 * `enclave-nn.manifest.template` lists each of them, node and every shared library as trusted
 * files. Written to a temporary folder and renamed: nothing half-written.
 * Only the `ort` engine is packaged: onnxruntime-web's WASM build is not wired for Gramine yet.
 */
export async function prepareGramine(o: PrepareOptions): Promise<{ manifest: string; files: string[] }> {
  const out = resolve(o.out);
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    const programDir = join(out, 'enclave-nn');
    const stageDir = join(tmp, 'enclave-nn');
    mkdirSync(stageDir, { recursive: true });
    const program = await trustedProgramPath();
    copyFileSync(program, join(stageDir, 'trusted-main.mjs'));
    const staged = [join(stageDir, 'trusted-main.mjs')];
    const nm = join(REPO, 'node_modules');
    staged.push(...copyTree(join(nm, 'onnxruntime-node'), join(stageDir, 'node_modules', 'onnxruntime-node'),
      (rel) => rel === 'package.json' || (rel.startsWith('dist/') && rel.endsWith('.js')) || /^bin\/napi-v\d+\/linux\/x64\//.test(rel)));
    staged.push(...copyTree(join(nm, 'onnxruntime-common'), join(stageDir, 'node_modules', 'onnxruntime-common'),
      (rel) => rel === 'package.json' || (rel.startsWith('dist/') && /\.(c?js|mjs)$/.test(rel))));
    const native = staged.filter((f) => f.endsWith('.node') || /\.so(\.\d+)*$/.test(f));
    const libraries = [...new Set([process.execPath, ...native].flatMap((b) => sharedLibraries(b)))].filter((l) => !l.startsWith(stageDir));
    const files = staged.map((f) => join(programDir, relative(stageDir, f)));
    const manifest = renderManifest({ nodePath: process.execPath, libraries, programFiles: files, programDir, debug: o.debug, enclaveSize: o.enclaveSize, maxThreads: o.maxThreads });
    writeFileSync(join(tmp, 'enclave-nn.manifest.template'), manifest);
    if (existsSync(out)) rmSync(out, { recursive: true, force: true });
    renameSync(tmp, out);
    return { manifest: join(out, 'enclave-nn.manifest.template'), files };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof EnclaveNnError) throw e;
    throw new EnclaveNnError('FILE_WRITE', `Cannot write the Gramine folder ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}
