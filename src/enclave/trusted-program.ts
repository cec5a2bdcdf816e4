/**
 * Builds the trusted program: esbuild bundles `trusted-main.ts` and everything it imports into
 * ONE plain CommonJS file (docs/enclave-protocol.md §7–8). One file starts fast (no
 * TypeScript loader in the enclave) and is what the sim platform measures. The engine packages
 * stay external (loaded from node_modules).
 *
 * From the sources (a checkout, through tsx) the file is cached in `node_modules/.cache/enclave-nn/`
 * (so its bare imports resolve) and rebuilt when any of its inputs changes: a manifest lists the
 * inputs and their hash. (`programIn(dir, true)` is the fallback for read-only installs.)
 * The compiled package (dist/, `npm run build`) carries the file prebuilt beside this module
 * (`trusted-main.cjs` + its manifest): an installed package has no sources to bundle.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { concatBytes, sha256 } from '../crypto/index.ts';
import { toHex } from '../bundle/format.ts';
import { EnclaveNnError } from '../errors.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ENTRY = 'src/enclave/trusted-main.ts';
const CACHE = join(REPO, 'node_modules', '.cache', 'enclave-nn');

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

/** Running compiled (dist/…/trusted-program.js) rather than from the TypeScript sources. */
const COMPILED = !import.meta.url.endsWith('.ts');
/** The prebuilt trusted program of the compiled package (scripts/build.ts writes it). */
export const PREBUILT_PROGRAM = 'trusted-main.cjs';
const MANIFEST = 'trusted-main.manifest.json';

/**
 * The absolute path of the bundled trusted program, building it when its sources changed.
 * Built into `node_modules/.cache/enclave-nn/`; if that is not writable (a read-only install),
 * into a per-user temporary directory, with the engine packages referenced by absolute path.
 *
 * @example
 * ```ts
 * spawn(process.execPath, [await trustedProgramPath(), '--platform', 'sim']);
 * ```
 */
export async function trustedProgramPath(): Promise<string> {
  if (cached && existsSync(cached)) return cached;
  if (COMPILED) {
    const prebuilt = fileURLToPath(new URL(PREBUILT_PROGRAM, import.meta.url));
    if (!existsSync(prebuilt)) throw new EnclaveNnError('ENCLAVE_BUILD', `Cannot start the enclave: the prebuilt trusted program ${prebuilt} is missing (rebuild the package: npm run build)`, { exitCode: 1 });
    return (cached = prebuilt);
  }
  try {
    return (cached = await programIn(CACHE, false));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM') throw e;
    return (cached = await programIn(join(tmpdir(), `enclave-nn-${process.getuid?.() ?? 'user'}`), true));
  }
}

/** @internal Builds (or finds) the trusted program in `cache`; tests use the read-only-install fallback directly. */
export async function programIn(cache: string, absoluteExternals: boolean): Promise<string> {
  const manifestPath = join(cache, MANIFEST);
  try {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    if (hashInputs(m.inputs) === m.inputsHash && existsSync(join(cache, m.file))) return join(cache, m.file);
  } catch { /* no manifest yet, or unreadable: build */ }
  const { code, inputs } = await bundleTrustedProgram(absoluteExternals);
  const file = `trusted-${toHex(sha256(code)).slice(0, 16)}.cjs`;
  mkdirSync(cache, { recursive: true, mode: 0o700 });
  const out = join(cache, file);
  // Temporary file then rename: a concurrent start never runs (or measures) a half-written file.
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, out);
  const manifest: Manifest = { inputs, inputsHash: hashInputs(inputs)!, file };
  writeFileSync(`${manifestPath}.${process.pid}.tmp`, JSON.stringify(manifest));
  renameSync(`${manifestPath}.${process.pid}.tmp`, manifestPath);
  removeStale(cache, file);
  return out;
}

/**
 * Bundles `src/enclave/trusted-main.ts` and everything it imports into one CommonJS file.
 * `absoluteExternals` points the engine packages at their installed files (for a cache outside
 * node_modules). Returns the code and the bundled source files (repository-relative).
 */
export async function bundleTrustedProgram(absoluteExternals = false): Promise<{ code: Uint8Array; inputs: string[] }> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (cause) {
    throw new EnclaveNnError('ENCLAVE_BUILD', 'Cannot build the trusted program: esbuild is not installed', { cause, exitCode: 1 });
  }
  const engines = ['onnxruntime-node', 'onnxruntime-web'];
  const require = createRequire(join(REPO, 'package.json'));
  const r = await esbuild.build({
    // CommonJS: Node starts a CommonJS main module faster than an ES module (no ESM loader);
    // import.meta.url is rebuilt from __filename.
    entryPoints: [join(REPO, ENTRY)], absWorkingDir: REPO, bundle: true, platform: 'node', format: 'cjs', target: 'node20',
    define: { 'import.meta.url': '__enclaveNnImportMetaUrl' },
    banner: { js: 'const __enclaveNnImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
    external: [...engines, 'esbuild'], write: false, metafile: true, legalComments: 'none', logLevel: 'silent',
    // Outside node_modules the bare names would not resolve: point them at the installed files.
    plugins: absoluteExternals ? [{
      name: 'absolute-engines',
      setup(b) { b.onResolve({ filter: /^onnxruntime-(node|web)$/ }, (a) => ({ path: require.resolve(a.path), external: true })); },
    }] : [],
  });
  const code = r.outputFiles[0]!.contents;
  const inputs = Object.keys(r.metafile.inputs).sort();
  return { code, inputs };
}

/**
 * Writes the prebuilt trusted program and its manifest into `dir` (the compiled package's
 * dist/src/enclave/): what {@link trustedProgramPath} returns when running compiled.
 */
export async function writePrebuiltTrustedProgram(dir: string): Promise<string> {
  const { code, inputs } = await bundleTrustedProgram(false);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, PREBUILT_PROGRAM), code);
  writeFileSync(join(dir, MANIFEST), JSON.stringify({ inputs, inputsHash: hashInputs(inputs)!, file: PREBUILT_PROGRAM } satisfies Manifest));
  return join(dir, PREBUILT_PROGRAM);
}

/** Lists the sources bundled into the trusted program (the trusted code base, §8). */
export async function trustedProgramInputs(): Promise<string[]> {
  const path = await trustedProgramPath();
  return (JSON.parse(readFileSync(join(dirname(path), MANIFEST), 'utf8')) as Manifest).inputs;
}

/** Removes older builds (an hour old: an enclave starting right now may still read its file). */
function removeStale(cache: string, keep: string): void {
  for (const f of readdirSync(cache)) {
    if (!/^trusted-[0-9a-f]{16}\.c?js$|^trusted-[0-9a-f]{16}\.mjs$/.test(f) || f === keep) continue;
    try {
      if (Date.now() - statSync(join(cache, f)).mtimeMs > 3_600_000) unlinkSync(join(cache, f));
    } catch { /* another process removed it */ }
  }
}
