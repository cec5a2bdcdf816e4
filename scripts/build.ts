/**
 * `npm run build` (and `prepare`): compiles src/ and examples/ to dist/ (JS, .d.ts, source maps;
 * tsconfig.build.json keeps tests and test helpers out), then writes what the compiled package
 * needs at run time and cannot build there: the bundled trusted programs
 * (dist/src/enclave/trusted-<platform>.cjs) and the embedded database's empty template. Last, checks
 * that every relative import in dist/ resolves (a test helper a shipped file imports would be
 * missing from the package).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const t0 = performance.now();
rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
if (tsc.status !== 0) {
  process.stderr.write(`build: tsc failed (exit ${tsc.status ?? tsc.signal})\n`);
  process.exit(1);
}
const { writePrebuiltTrustedPrograms } = await import('../src/enclave/trusted-program.ts');
const programs = await writePrebuiltTrustedPrograms(join(dist, 'src/enclave'));
const { writePgliteTemplate } = await import('../src/license/store-pglite.ts');
const template = await writePgliteTemplate();

const missing: string[] = [];
const walk = (dir: string): string[] => readdirSync(dir).flatMap((n) => statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]);
for (const file of walk(dist).filter((f) => f.endsWith('.js'))) {
  const code = readFileSync(file, 'utf8').split('\n').filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l)).join('\n'); // not in comments
  for (const m of code.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
    if (!existsSync(join(dirname(file), m[1]!))) missing.push(`${file.slice(root.length + 1)} imports ${m[1]}`);
  }
}
if (missing.length) {
  process.stderr.write(`build: ${missing.length} relative import(s) in dist/ do not resolve:\n  ${missing.join('\n  ')}\n`);
  process.exit(1);
}
// Written last: a dist/ without it is incomplete (scripts/dist.testkit.ts rebuilds then).
writeFileSync(join(dist, 'build.json'), JSON.stringify({ builtAt: new Date().toISOString(), programs: programs.map((p) => p.slice(dist.length + 1)), template: template.slice(dist.length + 1) }, null, 2) + '\n');
process.stdout.write(`build: dist/ in ${((performance.now() - t0) / 1000).toFixed(1)} s (trusted programs ${programs.map((p) => p.slice(root.length + 1)).join(', ')}, database template ${template.slice(root.length + 1)})\n`);
