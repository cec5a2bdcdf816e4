/**
 * Builds the trusted program: esbuild bundles `trusted-main.ts` and everything it imports into
 * ONE plain CommonJS file (docs/enclave-protocol.md §7–8). One file starts fast (no
 * TypeScript loader in the enclave) and is what the sim platform measures. The engine packages
 * stay external (loaded from node_modules).
 *
 * The file is cached in `node_modules/.cache/enclave-nn/` (so its bare imports resolve) and
 * rebuilt when any of its inputs changes: a manifest lists the inputs and their hash.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { concatBytes, sha256 } from '../crypto/index.ts';
import { toHex } from '../bundle/format.ts';
import { EnclaveNnError } from '../errors.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ENTRY = 'src/enclave/trusted-main.ts';
const CACHE = join(REPO, 'node_modules', '.cache', 'enclave-nn');
const MANIFEST = join(CACHE, 'trusted-main.manifest.json');

interface Manifest { inputs: string[]; inputsHash: string; file: string }

function hashInputs(inputs: readonly string[]): string | null {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const f of inputs) {
    const p = join(REPO, f);
    if (!existsSync(p)) return null;
    parts.push(enc.encode(`${f}\0`), sha256(readFileSync(p)));
  }
  return toHex(sha256(concatBytes(...parts)));
}

let cached: string | undefined;

/**
 * The absolute path of the bundled trusted program, building it when its sources changed.
 *
 * @example
 * ```ts
 * spawn(process.execPath, [await trustedProgramPath(), '--platform', 'sim']);
 * ```
 */
export async function trustedProgramPath(): Promise<string> {
  if (cached && existsSync(cached)) return cached;
  try {
    const m = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Manifest;
    if (hashInputs(m.inputs) === m.inputsHash && existsSync(join(CACHE, m.file))) return (cached = join(CACHE, m.file));
  } catch { /* no manifest yet, or unreadable: build */ }
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (cause) {
    throw new EnclaveNnError('ENCLAVE_BUILD', 'Cannot build the trusted program: esbuild is not installed', { cause, exitCode: 1 });
  }
  const r = await esbuild.build({
    // CommonJS: Node starts a CommonJS main module faster than an ES module (no ESM loader);
    // import.meta.url is rebuilt from __filename.
    entryPoints: [join(REPO, ENTRY)], absWorkingDir: REPO, bundle: true, platform: 'node', format: 'cjs', target: 'node20',
    define: { 'import.meta.url': '__enclaveNnImportMetaUrl' },
    banner: { js: 'const __enclaveNnImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
    external: ['onnxruntime-node', 'onnxruntime-web', 'esbuild'], write: false, metafile: true, legalComments: 'none', logLevel: 'silent',
  });
  const code = r.outputFiles[0]!.contents;
  const inputs = Object.keys(r.metafile.inputs).sort();
  const file = `trusted-${toHex(sha256(code)).slice(0, 16)}.cjs`;
  mkdirSync(CACHE, { recursive: true });
  const out = join(CACHE, file);
  // Temporary file then rename: a concurrent start never runs (or measures) a half-written file.
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, out);
  const manifest: Manifest = { inputs, inputsHash: hashInputs(inputs)!, file };
  writeFileSync(`${MANIFEST}.${process.pid}.tmp`, JSON.stringify(manifest));
  renameSync(`${MANIFEST}.${process.pid}.tmp`, MANIFEST);
  removeStale(file);
  return (cached = out);
}

/** Lists the sources bundled into the trusted program (the trusted code base, §8). */
export async function trustedProgramInputs(): Promise<string[]> {
  await trustedProgramPath();
  return (JSON.parse(readFileSync(MANIFEST, 'utf8')) as Manifest).inputs;
}

/** Removes older builds (an hour old: an enclave starting right now may still read its file). */
function removeStale(keep: string): void {
  for (const f of readdirSync(CACHE)) {
    if (!/^trusted-[0-9a-f]{16}\.c?js$|^trusted-[0-9a-f]{16}\.mjs$/.test(f) || f === keep) continue;
    try {
      if (Date.now() - statSync(join(CACHE, f)).mtimeMs > 3_600_000) unlinkSync(join(CACHE, f));
    } catch { /* another process removed it */ }
  }
}
