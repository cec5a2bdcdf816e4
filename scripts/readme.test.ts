/**
 * The README's "whole flow" block, run as written (bash, `npx enclave-nn`, real processes): a
 * Keras model.h5 (the MNIST CNN, seeded weights) → import → inspect → split → license server in
 * the background → admin → licensed run and dev-key run; then the README's library example
 * under plain node against the same server. The one change to the block: port 7070 becomes a
 * free port (tests run in parallel on a shared machine), and $ENCLAVE_NN_LICENSE_SERVER points
 * `admin` at it the way its default points at 7070.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createMnistModel } from '../examples/mnist/build.ts';
import { writeKerasH5 } from '../src/import/keras-h5.testkit.ts';
import { tfReady } from '../src/import/support.testkit.ts';
import { loadModelFile, runOnnx } from '../src/onnx/index.ts';
import { writeNpy } from '../src/runtime/npy.ts';
import { seededRandom } from '../src/util/seeded-prng.ts';
import { ensureDist, REPO } from './dist.testkit.ts';

/** The first ```sh block after `heading` in README.md. */
export function readmeBlock(heading: string, lang = 'sh'): string {
  const text = readFileSync(join(REPO, 'README.md'), 'utf8');
  const at = text.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `README.md has no '${heading}' section`);
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(text.slice(at));
  assert.ok(m, `README.md's '${heading}' has no ${lang} block`);
  return m[1]!;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** argmax per row of a [rows, width] tensor. */
const argmax = (data: ArrayLike<number>, rows: number): number[] => Array.from({ length: rows }, (_, r) => {
  const width = data.length / rows;
  let best = 0;
  for (let c = 1; c < width; c++) if (data[r * width + c]! > data[r * width + best]!) best = c;
  return best;
});

test("README: the whole flow runs as written, and the library example under plain node", { timeout: 900_000 }, async () => {
  const block = readmeBlock('## The whole flow');
  assert.match(block, /npx enclave-nn license-server .*&/);
  assert.equal(block.split('7070').length - 1, 2, 'the block names port 7070 twice (server --port, run --server)');
  const port = await freePort();
  const script = block.replaceAll('7070', String(port));

  mkdirSync(join(REPO, 'tmp'), { recursive: true });
  // Inside the checkout: `npx enclave-nn` resolves the project's own command from here.
  const dir = mkdtempSync(join(REPO, 'tmp', 'readme-'));
  await tfReady();
  await writeKerasH5(createMnistModel(42), join(dir, 'model.h5'));
  const rand = seededRandom(7);
  const x = Float32Array.from({ length: 2 * 28 * 28 }, () => rand());
  writeFileSync(join(dir, 'x.npy'), writeNpy({ dtype: 'float32', dims: [2, 28, 28, 1], data: x }));

  const env: NodeJS.ProcessEnv = { ...process.env, ENCLAVE_NN_HOME: join(dir, 'home'), ENCLAVE_NN_LICENSE_SERVER: `http://127.0.0.1:${port}` };
  delete env.ENCLAVE_NN_ADMIN_TOKEN; // admin must find the token from the server's --data
  // Its own process group: the background license server goes with it at the end.
  const bash = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  bash.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  bash.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  try {
    const code = await new Promise<number | null>((r) => bash.once('exit', r));
    assert.equal(code, 0, `the README block failed:\n${out}\n${err}`);
    assert.match(out, new RegExp(`listening on http://127\\.0\\.0\\.1:${port}`));
    assert.match(err, /INSECURE: license-server trusts the simulated SGX root/);
    assert.match(err, /INSECURE: model mnist-cnn is a sim model/);
    assert.match(out, /registered model mnist-cnn \(INSECURE sim model\)/);
    assert.match(out, /lic-acme {2}acme {2}mnist-cnn {2}credits 0\/100 granted/);
    // Both runs (licensed, dev key) print the whole model's answer.
    const onnx = await loadModelFile(join(dir, 'model.onnx'));
    const want = await runOnnx(onnx, { [onnx.graph!.input[0]!.name]: { dtype: 'float32', dims: [2, 28, 28, 1], data: x } });
    const [outName, probs] = Object.entries(want)[0]!;
    const runs = [...out.matchAll(/^ {2}argmax: (.*)$/gm)].map((m) => m[1]);
    assert.deepEqual(runs, [argmax(probs.data as Float32Array, 2).join(' '), argmax(probs.data as Float32Array, 2).join(' ')], out);

    await ensureDist();
    const lib = spawnSync(process.execPath, [join(REPO, 'examples/library.mjs'), 'model.enn', 'x.npy', `http://127.0.0.1:${port}`, 'lic-acme'], { cwd: dir, env, encoding: 'utf8', timeout: 300_000 });
    assert.equal(lib.status, 0, lib.stderr);
    const first = (probs.data as Float32Array).slice(0, 10);
    assert.equal(lib.stdout.trim(), `${outName} float32[2,10]: ${Array.from(first, (v) => v.toFixed(4)).join(' ')}`);
    const admin = spawnSync(process.execPath, [join(REPO, 'bin/enclave-nn.js'), 'admin', 'usage', '--customer', 'acme'], { cwd: dir, env, encoding: 'utf8' });
    assert.match(admin.stdout, /acme {2}mnist-cnn {2}licenses 1 {2}credits 100/, admin.stderr);
  } finally {
    try { process.kill(-bash.pid!, 'SIGTERM'); } catch { /* already gone */ }
    await new Promise((r) => setTimeout(r, 500)); // the server releases its database
    rmSync(dir, { recursive: true, force: true });
  }
});
