/**
 * docs/deploy-sgx.md as a tested walkthrough: every command in a block marked
 * `<!-- walkthrough tested -->` runs here, in order, as a real process (with a real license
 * server for `admin`); every block marked `<!-- walkthrough needs-sgx -->` holds only commands
 * that need Gramine or SGX hardware, which this machine lacks (the page says so).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBundleFile } from '../bundle/file.ts';
import { encodeModel } from '../onnx/codec.ts';
import { mlpModel } from '../onnx/models.testkit.ts';
import { parseTomlSubset, type TomlTable } from './toml.testkit.ts';

const BIN = new URL('../../bin/enclave-nn.js', import.meta.url).pathname;
const doc = readFileSync(new URL('../../docs/deploy-sgx.md', import.meta.url), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'enn-walkthrough-'));
const env: NodeJS.ProcessEnv = { ...process.env, ENCLAVE_NN_HOME: join(dir, 'home'), ENCLAVE_NN_ADMIN_TOKEN: 'walkthrough-admin-token-0123456789' };
delete env.ENCLAVE_NN_LICENSE_SERVER;
let server: ChildProcess | undefined;
after(() => { server?.kill('SIGTERM'); });

/** The command lines of the blocks with this mark, in page order. */
function blocks(mark: string): string[] {
  return [...doc.matchAll(new RegExp(`<!-- walkthrough ${mark} -->\\n\`\`\`sh\\n([^\`]*)\`\`\``, 'g'))]
    .flatMap((m) => m[1]!.split('\n')).map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l.length > 0);
}

test('the walkthrough\'s hardware steps are only Gramine\'s tools and the SGX run', () => {
  const needs = blocks('needs-sgx');
  assert.ok(needs.length >= 5);
  for (const line of needs) assert.match(line, /^(cd sgx|gramine-[a-z-]+ |gramine-sgx-gen-private-key$|ENCLAVE_NN_GRAMINE_DIR=sgx enclave-nn run )/, line);
});

test('docs/deploy-sgx.md: the tested steps run as written (package, split with the measurement words, register with a license server)', async () => {
  writeFileSync(join(dir, 'model.onnx'), encodeModel(mlpModel()));
  server = spawn(process.execPath, [BIN, 'license-server', '--data', join(dir, 'data'), '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server!.stdout!.on('data', (c: Buffer) => { out += c.toString(); const m = /listening on (\S+)/.exec(out); if (m) resolve(m[1]!); });
    server!.once('exit', (code) => reject(new Error(`license-server exited ${code}`)));
  });
  const vars: Record<string, string> = { MR_SIGNER: 'ab'.repeat(32), URL: url };
  const tested = blocks('tested');
  assert.deepEqual(tested.map((l) => l.split(' ').slice(0, 2).join(' ')), ['enclave-nn gramine', 'enclave-nn split', 'enclave-nn admin']);
  for (const line of tested) {
    const words = line.split(/\s+/).map((w) => w.replace(/^\$([A-Z_]+)$/, (_, v: string) => vars[v] ?? assert.fail(`unknown variable ${v}`)));
    assert.equal(words[0], 'enclave-nn');
    const r = spawnSync(process.execPath, [BIN, ...words.slice(1)], { cwd: dir, env, encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, `${line}\n${r.stderr}`);
  }
  const manifest = parseTomlSubset(readFileSync(join(dir, 'sgx', 'enclave-nn.manifest.template'), 'utf8'));
  assert.equal((manifest.sgx as TomlTable).isvsvn, 1);
  assert.deepEqual((await readBundleFile(join(dir, 'model.enn'))).header.policy, { platforms: [{ kind: 'gramine-sgx', measurements: [], mrSigners: [vars.MR_SIGNER], minIsvSvn: 1 }] });
  const list = spawnSync(process.execPath, [BIN, 'admin', 'models', 'list', '--json', '--server', url], { env, encoding: 'utf8' });
  assert.equal(list.status, 0, list.stderr);
  const models = (JSON.parse(list.stdout) as { models: { policy: { mrEnclave: string[]; mrSigner: string[]; minIsvSvn: number; allowDebug: boolean } }[] }).models;
  assert.deepEqual(models.map((m) => m.policy), [{ mrEnclave: [], mrSigner: [vars.MR_SIGNER], minIsvSvn: 1, allowDebug: false }]);
});
