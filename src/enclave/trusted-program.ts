/**
 * Builds the trusted program: esbuild bundles `trusted-main.ts` and everything it imports into
 * ONE plain CommonJS file per platform (docs/enclave-protocol.md §7–8). One file starts fast (no
 * TypeScript loader in the enclave) and is what the sim platform measures. The engine packages
 * stay external (loaded from node_modules). Each platform's program holds only that platform's
 * code: `process.env.ENCLAVE_NN_BUILD_PLATFORM` is replaced by the platform's name at build time,
 * and esbuild drops the other platform's branch in `platform/load.ts` and the modules only it
 * imports (the gramine-sgx program has no simulator, no sim PCK chain, no X.509 builder).
 *
 * From the sources (a checkout, through tsx) a program is cached in `node_modules/.cache/enclave-nn/`
 * (so its bare imports resolve) and rebuilt when any of its inputs changes: a manifest lists the
 * inputs and their hash. (`programIn(dir, true)` is the fallback for read-only installs.)
 * The compiled package (dist/, `npm run build`) carries the programs prebuilt beside this module
 * (`trusted-<platform>.cjs` + manifests): an installed package has no sources to bundle.
 * The file is cached in `node_modules/.cache/enclave-nn/` (so its bare imports resolve) and
 * rebuilt when any of its inputs changes: a manifest lists the inputs and their hash.
 * (`programIn(dir, true)` is the fallback for read-only installs.)
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { concatBytes, sha256 } from '../crypto/index.ts';
import { toHex } from '../util/encoding.ts';
import { EnclaveNnError } from '../errors.ts';
import { simMeasurement } from '../platform/sim.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ENTRY = 'src/enclave/trusted-main.ts';
const CACHE = join(REPO, 'node_modules', '.cache', 'enclave-nn');
const SRC_DIR = join(REPO, 'src') + '/';

/** The platforms a trusted program is built for, one program each. */
export const PROGRAM_PLATFORMS = ['sim', 'gramine-sgx'] as const;

/** A platform a trusted program is built for. */
export type ProgramPlatform = (typeof PROGRAM_PLATFORMS)[number];

/**
 * The cache's record of one build: `inputs` are every file esbuild read (esbuild's
 * `metafile.inputs`, hashed to know when to rebuild), `bundled` those with code in the output
 * (`metafile.outputs[…].inputs`).
 */
interface Manifest { inputs: string[]; bundled: string[]; inputsHash: string; file: string }

/** This file is the build's recipe (options, plugins, define): a change to it rebuilds too. */
const RECIPE = 'src/enclave/trusted-program.ts';

function hashInputs(inputs: readonly string[]): string | null {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const f of [...inputs, RECIPE]) {
    const p = join(REPO, f);
    if (!existsSync(p)) return null;
    parts.push(enc.encode(`${f}\0`), sha256(readFileSync(p)));
  }
  return toHex(sha256(concatBytes(...parts)));
}

const cached = new Map<string, string>();

/** Running compiled (dist/…/trusted-program.js) rather than from the TypeScript sources. */
const COMPILED = !import.meta.url.endsWith('.ts');

/**
 * The absolute path of the bundled trusted program for `platform`, building it when its sources
 * changed. Built into `node_modules/.cache/enclave-nn/`; if that is not writable (a read-only
 * install), into a per-user temporary directory, with the engine packages referenced by absolute path.
 *
 * @param platform @defaultValue 'sim'
 * @example
 * ```ts
 * spawn(process.execPath, [await trustedProgramPath('sim'), '--platform', 'sim']);
 * ```
 */
export async function trustedProgramPath(platform: ProgramPlatform = 'sim'): Promise<string> {
  const hit = cached.get(platform);
  if (hit && existsSync(hit)) return hit;
  let path: string;
  if (COMPILED) {
    path = fileURLToPath(new URL(`trusted-${platform}.cjs`, import.meta.url));
    if (!existsSync(path)) throw new EnclaveNnError('ENCLAVE_BUILD', `Cannot start the enclave: the prebuilt trusted program ${path} is missing (rebuild the package: npm run build)`, { exitCode: 1 });
    cached.set(platform, path);
    return path;
  }
  try {
    path = await programIn(CACHE, false, platform);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM') throw e;
    path = await programIn(join(tmpdir(), `enclave-nn-${process.getuid?.() ?? 'user'}`), true, platform);
  }
  cached.set(platform, path);
  return path;
}

/** @internal Builds (or finds) the trusted program in `cache`; tests use the read-only-install fallback directly. */
export async function programIn(cache: string, absoluteExternals: boolean, platform: ProgramPlatform = 'sim'): Promise<string> {
  if (!(PROGRAM_PLATFORMS as readonly string[]).includes(platform)) throw new RangeError(`Cannot build the trusted program: unknown platform '${platform}'; known: ${PROGRAM_PLATFORMS.join(', ')}`);
  const manifestPath = join(cache, `trusted-${platform}.manifest.json`);
  try {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    if (Array.isArray(m.bundled) && hashInputs(m.inputs) === m.inputsHash && existsSync(join(cache, m.file))) return join(cache, m.file);
  } catch { /* no manifest yet, or unreadable: build */ }
  const { code, inputs, bundled } = await bundleTrustedProgram(platform, absoluteExternals);
  const file = `trusted-${platform}-${toHex(sha256(code)).slice(0, 16)}.cjs`;
  mkdirSync(cache, { recursive: true, mode: 0o700 });
  const out = join(cache, file);
  // Temporary file then rename: a concurrent start never runs (or measures) a half-written file.
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, out);
  const manifest: Manifest = { inputs, bundled, inputsHash: hashInputs(inputs)!, file };
  writeFileSync(`${manifestPath}.${process.pid}.tmp`, JSON.stringify(manifest));
  renameSync(`${manifestPath}.${process.pid}.tmp`, manifestPath);
  removeStale(cache, file, platform);
  return out;
}

/**
 * Bundles `src/enclave/trusted-main.ts` for `platform` and everything it imports into one
 * CommonJS file. `absoluteExternals` points the engine packages at their installed files (for a
 * cache outside node_modules). Returns the code, the files esbuild read and those bundled.
 */
export async function bundleTrustedProgram(platform: ProgramPlatform, absoluteExternals = false): Promise<{ code: Uint8Array; inputs: string[]; bundled: string[] }> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (cause) {
    throw new EnclaveNnError('ENCLAVE_BUILD', 'Cannot build the trusted program: esbuild is not installed', { cause, exitCode: 1 });
  }
  const engines = ['onnxruntime-node', 'onnxruntime-web'];
  const r = await esbuild.build({
    // CommonJS: Node starts a CommonJS main module faster than an ES module (no ESM loader);
    // import.meta.url is rebuilt from __filename.
    entryPoints: [join(REPO, ENTRY)], absWorkingDir: REPO, bundle: true, platform: 'node', format: 'cjs', target: 'node20',
    // The engines load with require (engines/require-engine.ts), resolved from this file's place
    // in node_modules; outside it (absoluteExternals) from the repository's package.json.
    define: {
      'import.meta.url': '__enclaveNnImportMetaUrl', 'process.env.ENCLAVE_NN_BUILD_PLATFORM': JSON.stringify(platform),
      __ENCLAVE_NN_ENGINE_BASE__: absoluteExternals ? JSON.stringify(join(REPO, 'package.json')) : 'undefined',
    },
    banner: { js: 'const __enclaveNnImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
    external: [...engines, 'esbuild'], write: false, metafile: true, legalComments: 'none', logLevel: 'silent',
    plugins: [
      // Our modules only define constants, functions and classes (the entry is the one with
      // effects, and an entry is always kept): marked free of side effects, esbuild leaves out
      // every module this program does not call — the X.509 builder, used only by the sim PCK
      // chain, stays out of the gramine-sgx program although crypto/index.ts re-exports it.
      { name: 'pure-modules', setup(b) { b.onResolve({ filter: /^\.{1,2}\/.*\.ts$/ }, (a) => (resolve(a.resolveDir, a.path).startsWith(SRC_DIR) ? { path: resolve(a.resolveDir, a.path), sideEffects: false } : undefined)); } },
    ],
  });
  const code = r.outputFiles[0]!.contents;
  const inputs = Object.keys(r.metafile.inputs).sort();
  const bundled = Object.keys(Object.values(r.metafile.outputs)[0]!.inputs).sort();
  return { code, inputs, bundled };
}

/**
 * Writes every platform's trusted program and manifest into `dir` (the compiled package's
 * dist/src/enclave/, by scripts/build.ts): what {@link trustedProgramPath} returns when running compiled.
 */
export async function writePrebuiltTrustedPrograms(dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const out: string[] = [];
  for (const platform of PROGRAM_PLATFORMS) {
    const { code, inputs, bundled } = await bundleTrustedProgram(platform);
    const file = `trusted-${platform}.cjs`;
    writeFileSync(join(dir, file), code);
    writeFileSync(join(dir, `trusted-${platform}.manifest.json`), JSON.stringify({ inputs, bundled, inputsHash: hashInputs(inputs)!, file } satisfies Manifest));
    out.push(join(dir, file));
  }
  return out;
}

/**
 * Lists the sources of the trusted program for `platform` (the trusted code base, §8), as paths
 * relative to the repository: `bundled`, the files with code in the program (esbuild's
 * `metafile.outputs[…].inputs`), and `read`, every file esbuild read to build it.
 *
 * @param platform @defaultValue 'sim'
 */
export async function trustedProgramInputs(platform: ProgramPlatform = 'sim'): Promise<{ bundled: string[]; read: string[] }> {
  const path = await trustedProgramPath(platform);
  const m = JSON.parse(readFileSync(join(dirname(path), `trusted-${platform}.manifest.json`), 'utf8')) as Manifest;
  return { bundled: m.bundled, read: m.inputs };
}

/** Removes older builds (an hour old: an enclave starting right now may still read its file). */
function removeStale(cache: string, keep: string, platform: ProgramPlatform): void {
  // This platform's builds, and those from before programs were built per platform (no name).
  const ours = new RegExp(`^trusted-(?:${platform}-)?[0-9a-f]{16}\\.(?:c?js|mjs)$`);
  for (const f of readdirSync(cache)) {
    if (!ours.test(f) || f === keep) continue;
    try {
      if (Date.now() - statSync(join(cache, f)).mtimeMs > 3_600_000) unlinkSync(join(cache, f));
    } catch { /* another process removed it */ }
  }
}

/**
 * Lowercase hex sim measurement of the locally built trusted program (docs/license-protocol.md
 * §4.5): what this machine's sim quotes report as MRENCLAVE.
 *
 * @example
 * ```ts
 * const m = await localSimMeasurement(); // 64 hex digits
 * ```
 */
export async function localSimMeasurement(): Promise<string> {
  return toHex(simMeasurement(await trustedProgramPath()));
}
