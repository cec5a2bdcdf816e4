/**
 * The installable package: `npm pack` the project, install the tarball into an empty folder
 * offline (dependencies from the npm cache `npm ci` filled; ONNXRUNTIME_NODE_INSTALL=skip as the
 * README's install section says, so onnxruntime-node's install script downloads nothing), then
 * from there, under plain node (no TypeScript loader): `npx enclave-nn` (help, split, a dev-key
 * run, a license server that answers), and the README's library example importing 'enclave-nn'.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeModel, runOnnx } from '../src/onnx/index.ts';
import { mlpModel } from '../src/onnx/models.testkit.ts';
import { writeNpy } from '../src/runtime/npy.ts';
import { ensureDist, REPO } from './dist.testkit.ts';

/**
 * The empty folder's lockfile: the tarball and, under it, the repository's production tree as
 * its lockfile pins it. Offline, npm finds package tarballs in the cache by integrity, but not
 * the registry's metadata a fresh resolution needs (npm ci never fetched it); with network a
 * user needs no lockfile.
 */
function appLockfile(tarball: string, integrity: string): unknown {
  const repo = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
  const root = repo.packages['']!;
  const packages: Record<string, unknown> = {
    '': { name: 'app', dependencies: { 'enclave-nn': `file:${tarball}` } },
    'node_modules/enclave-nn': { version: root.version, resolved: `file:${tarball}`, integrity, license: root.license, dependencies: root.dependencies, bin: root.bin, engines: root.engines },
  };
  for (const [path, entry] of Object.entries(repo.packages)) if (path !== '' && entry.dev !== true) packages[path] = entry;
  return { name: 'app', lockfileVersion: 3, requires: true, packages };
}

test('npm pack → npm install <tarball> in an empty folder → npx enclave-nn and import from enclave-nn under plain node', { timeout: 1_200_000 }, async (t) => {
  await ensureDist();
  const dir = mkdtempSync(join(tmpdir(), 'enn-package-'));
  t.after(() => rmSync(dir, { recursive: true, force: true })); // an installed tree is large
  // dist/ is fresh (ensureDist): --ignore-scripts skips a second build by `prepare`.
  const pack = spawnSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: REPO, encoding: 'utf8', timeout: 300_000 });
  assert.equal(pack.status, 0, pack.stderr);
  const [info] = JSON.parse(pack.stdout) as [{ filename: string; integrity: string; files: { path: string }[] }];
  const files = info.files.map((f) => f.path);
  for (const f of ['bin/enclave-nn.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/index.js.map', 'dist/src/cli/main.js', 'dist/src/enclave/trusted-sim.cjs', 'dist/src/enclave/trusted-gramine-sgx.cjs', 'package.json', 'README.md']) assert.ok(files.includes(f), `the tarball has ${f}`);
  assert.ok(files.some((f) => /^dist\/pglite-.*-empty\.tar\.gz$/.test(f)), 'the tarball has the embedded database template');
  const leaked = files.filter((f) => /\.test\.|\.testkit\.|test-support|testing\.|test-vectors|test-models|test-material|^src\/|^scripts\//.test(f));
  assert.deepEqual(leaked, [], 'no sources, tests or test helpers in the tarball');

  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify(appLockfile(`../${info.filename}`, info.integrity)));
  const env: NodeJS.ProcessEnv = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', ENCLAVE_NN_HOME: join(dir, 'home'), npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' };
  delete env.ENCLAVE_NN_ADMIN_TOKEN;
  delete env.ENCLAVE_NN_LICENSE_SERVER;
  const install = spawnSync('npm', ['install', '--offline', join(dir, info.filename)], { cwd: app, env, encoding: 'utf8', timeout: 900_000 });
  assert.equal(install.status, 0, `npm install of the tarball failed:\n${install.stdout}\n${install.stderr}`);
  assert.ok(!existsSync(join(app, 'node_modules/enclave-nn/src')), 'installed without sources');
  assert.ok(!existsSync(join(app, 'node_modules/tsx')), 'tsx is not a run-time dependency');

  const npx = (...args: string[]) => spawnSync('npx', ['--offline', 'enclave-nn', ...args], { cwd: app, env, encoding: 'utf8', timeout: 300_000 });
  let r = npx('--help');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /usage: enclave-nn <command>/);

  const model = mlpModel();
  writeFileSync(join(app, 'model.onnx'), encodeModel(model));
  const x = Float32Array.from({ length: 2 * 16 }, (_, i) => (i % 7) / 7);
  writeFileSync(join(app, 'x.npy'), writeNpy({ dtype: 'float32', dims: [2, 16], data: x }));
  r = npx('split', 'model.onnx', '--private', '2', '-o', 'model.enn');
  assert.equal(r.status, 0, r.stderr);
  const want = { data: (await runOnnx(model, { x: { dtype: 'float32', dims: [2, 16], data: x } })).y!.data as Float32Array };
  r = npx('run', 'model.enn', '--input', 'x.npy', '--insecure-dev-key', 'model.enn.key', '--json');
  assert.equal(r.status, 0, r.stderr);
  const got = (JSON.parse(r.stdout) as { y: { data: number[] } }).y.data;
  assert.ok(got.every((v, i) => Math.abs(v - want.data[i]!) < 1e-5), `run: ${got} vs ${Array.from(want.data)}`);

  // The README's library example, unchanged, importing 'enclave-nn' from node_modules.
  copyFileSync(join(REPO, 'examples/library.mjs'), join(app, 'library.mjs'));
  r = spawnSync(process.execPath, ['library.mjs', 'model.enn', 'x.npy'], { cwd: app, env, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `y float32[2,4]: ${Array.from(want.data, (v) => v.toFixed(4)).join(' ')}`);
  r = spawnSync(process.execPath, ['--input-type=module', '-e', "const m = await import('enclave-nn'); console.log(['Session', 'licenseServerKeyProvider', 'licenseFileKeyProvider', 'readNpy', 'readInputs', 'readBundleFile', 'EnclaveNnError'].filter((k) => typeof m[k] !== 'function').join(',') || 'all exported')"], { cwd: app, env, encoding: 'utf8' });
  assert.equal(r.stdout.trim(), 'all exported', r.stderr);

  // The license server from the package: the database template ships with it.
  const server = spawn(process.execPath, [join(app, 'node_modules/enclave-nn/bin/enclave-nn.js'), 'license-server', '--data', join(dir, 'data'), '--port', '0'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let err = '';
    server.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (c: Buffer) => { out += c.toString(); const m = /listening on (\S+)/.exec(out); if (m) resolve(m[1]!); });
      server.once('exit', (code) => reject(new Error(`license-server exited ${code}: ${err}`)));
    });
    const health = await fetch(`${url}/v1/health`);
    assert.deepEqual(await health.json(), { ok: true });
    assert.match(err, /store embedded \(PGlite\)/);
  } finally {
    server.kill('SIGTERM');
  }
});
