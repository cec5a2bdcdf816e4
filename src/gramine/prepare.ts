import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, renameSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnclaveNnError } from '../errors.ts';
import { trustedProgramPath } from '../enclave/trusted-program.ts';
import { PROGRAM_DIR, renderManifest, type ManifestOptions } from './manifest.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Options of {@link prepareGramine}: the output folder, and {@link ManifestOptions} beyond the files. */
export interface PrepareOptions extends Omit<ManifestOptions, 'nodePath' | 'libraries' | 'programFiles'> {
  /** The output folder. */
  out: string;
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
  // Sorted: the manifest lists files in this order, and must not depend on the file system's.
  for (const name of readdirSync(from).sort()) {
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
 * Prepares a folder for Gramine: `enclave-nn/` holds the gramine-sgx trusted program (built
 * without simulator code) and the onnxruntime-node files it loads (JS, the N-API binding and
 * libonnxruntime for linux-x64), and `enclave-nn.manifest.template` lists each of them (relative
 * to the folder), node and every shared library as trusted files. Written to a temporary folder
 * and renamed: nothing half-written. Only the `ort` engine is packaged: onnxruntime-web's WASM
 * build is not wired for Gramine yet.
 */
export async function prepareGramine(o: PrepareOptions): Promise<{ manifest: string; files: string[] }> {
  const out = resolve(o.out);
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    const stageDir = join(tmp, PROGRAM_DIR);
    mkdirSync(stageDir, { recursive: true });
    const program = await trustedProgramPath('gramine-sgx');
    // .cjs: the bundle is CommonJS, and no package.json here says what a .js file would be.
    copyFileSync(program, join(stageDir, 'trusted-main.cjs'));
    const staged = [join(stageDir, 'trusted-main.cjs')];
    const nm = join(REPO, 'node_modules');
    staged.push(...copyTree(join(nm, 'onnxruntime-node'), join(stageDir, 'node_modules', 'onnxruntime-node'),
      (rel) => rel === 'package.json' || (rel.startsWith('dist/') && rel.endsWith('.js')) || /^bin\/napi-v\d+\/linux\/x64\//.test(rel)));
    staged.push(...copyTree(join(nm, 'onnxruntime-common'), join(stageDir, 'node_modules', 'onnxruntime-common'),
      // dist/cjs/package.json says `"type": "commonjs"` for the CommonJS build: without it Node reads those files as ES modules.
      (rel) => rel === 'package.json' || (rel.startsWith('dist/') && /(\.(c?js|mjs)|\/package\.json)$/.test(rel))));
    const native = staged.filter((f) => f.endsWith('.node') || /\.so(\.\d+)*$/.test(f));
    const libraries = [...new Set([process.execPath, ...native].flatMap((b) => sharedLibraries(b)))].filter((l) => !l.startsWith(stageDir)).sort();
    const programFiles = staged.map((f) => relative(tmp, f));
    const manifest = renderManifest({ ...o, nodePath: process.execPath, libraries, programFiles });
    writeFileSync(join(tmp, 'enclave-nn.manifest.template'), manifest);
    if (existsSync(out)) rmSync(out, { recursive: true, force: true });
    renameSync(tmp, out);
    return { manifest: join(out, 'enclave-nn.manifest.template'), files: programFiles.map((f) => join(out, f)) };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof EnclaveNnError || e instanceof RangeError) throw e;
    throw new EnclaveNnError('FILE_WRITE', `Cannot write the Gramine folder ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}
