/**
 * The licensing commands as real processes (STYLE.md 15): license-server, admin, run with
 * --server and --license-file, license request/checkin, on the embedded store and the INSECURE
 * sim platform.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeProviderKeyFile } from '../../bundle/provider-key.ts';
import { sha256 } from '../../crypto/index.ts';
import { trustedProgramPath } from '../../enclave/trusted-program.ts';
import { mlpModel } from '../../onnx/models.testkit.ts';
import { bundleOfSplit, everySplit } from '../../runtime/support.testkit.ts';

const dir = mkdtempSync(join(tmpdir(), 'enn-license-cli-'));
const env: NodeJS.ProcessEnv = { ...process.env, ENCLAVE_NN_HOME: join(dir, 'home'), ENCLAVE_NN_ADMIN_TOKEN: 'cli-admin-token-0123456789abcdef' };
delete env.ENCLAVE_NN_LICENSE_SERVER;
const BIN = new URL('../../../bin/enclave-nn.js', import.meta.url).pathname;
let server: ChildProcess | undefined;
after(() => { server?.kill('SIGTERM'); });

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('license-server, admin, run --server (quota), license request → admin fulfill → run --license-file, replayed request refused', async () => {
  const { splits } = await everySplit(mlpModel());
  const { bytes, providerKey } = bundleOfSplit(splits[1]!);
  const model = join(dir, 'model.enn');
  writeFileSync(model, bytes);
  await writeProviderKeyFile(join(dir, 'model.enn.key'), providerKey);
  writeFileSync(join(dir, 'x.json'), JSON.stringify({ x: [Array.from({ length: 16 }, (_, i) => i / 16)] }));
  const measurement = Buffer.from(sha256(readFileSync(await trustedProgramPath()))).toString('hex');

  server = spawn(process.execPath, [BIN, 'license-server', '--data', join(dir, 'data'), '--port', '0', '--insecure-trust-sim'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let serverErr = '';
  server.stderr!.on('data', (c: Buffer) => { serverErr += c.toString(); });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server!.stdout!.on('data', (c: Buffer) => { out += c.toString(); const m = /listening on (\S+)/.exec(out); if (m) resolve(m[1]!); });
    server!.once('exit', (code) => reject(new Error(`license-server exited ${code}`)));
  });
  assert.match(serverErr, /INSECURE: license-server trusts the simulated SGX root/);
  const admin = (...a: string[]) => cli('admin', ...a, '--server', url);

  let r = admin('models', 'add', join(dir, 'model.enn.key'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no accepted measurement/);
  r = cli('license', 'measurement');
  assert.equal(r.stdout.trim(), measurement);
  r = admin('models', 'add', join(dir, 'model.enn.key'), '--local-sim-measurement', '--allow-debug');
  assert.equal(r.code, 0, r.stderr);
  assert.match(admin('models', 'list').stdout, new RegExp(`${providerKey.modelId} {2}${measurement.slice(0, 16)} {2}debug allowed$`, 'm'));
  assert.equal(admin('customers', 'add', 'acme').code, 0);
  assert.equal(admin('licenses', 'grant', '--customer', 'acme', '--model', providerKey.modelId, '--credits', '1', '--id', 'lic-not-sim').code, 0);
  // Not a sim model: --insecure-trust-sim does not extend the sim root to it.
  r = cli('run', model, '--input', join(dir, 'x.json'), '--server', url, '--license', 'lic-not-sim');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /is not a pinned root/);
  assert.match(admin('models', 'remove', providerKey.modelId).stderr, /1 license\(s\) name it/);
  // The bundle's policy names the sim platform only: a sim model (INSECURE, announced).
  r = admin('models', 'update', providerKey.modelId, '--bundle', model);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /INSECURE: model \S+ is a sim model/);
  assert.match(admin('models', 'list').stdout, new RegExp(`${providerKey.modelId} {2}any measurement {2}INSECURE sim model`));
  assert.match(admin('customers', 'list').stdout, /^acme {2}acme {2}since \d{4}-/m);
  // A model no license names can be removed (and is gone from the list).
  const other = bundleOfSplit(splits[0]!);
  writeFileSync(join(dir, 'other.enn'), other.bytes);
  await writeProviderKeyFile(join(dir, 'other.enn.key'), other.providerKey);
  assert.equal(admin('models', 'add', join(dir, 'other.enn.key'), '--bundle', join(dir, 'other.enn')).code, 0);
  assert.match(admin('models', 'list').stdout, new RegExp(other.providerKey.modelId));
  r = admin('models', 'remove', other.providerKey.modelId);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`removed model ${other.providerKey.modelId}`));
  assert.doesNotMatch(admin('models', 'list').stdout, new RegExp(other.providerKey.modelId));
  assert.match(admin('models', 'remove', other.providerKey.modelId).stderr, /is not registered/);
  r = admin('licenses', 'grant', '--customer', 'acme', '--model', providerKey.modelId, '--credits', '2', '--id', 'lic-online');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /lic-online {2}acme/);

  // Online license: 2 credits, the third run is refused with the quota error (exit 2, one line).
  for (let i = 0; i < 2; i++) {
    r = cli('run', model, '--input', join(dir, 'x.json'), '--server', url, '--license', 'lic-online');
    assert.equal(r.code, 0, r.stderr);
  }
  r = cli('run', model, '--input', join(dir, 'x.json'), '--server', url, '--license', 'lic-online');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /enclave-nn run: Cannot run inference: license lic-online quota exhausted: 0 credits left, 1 asked \(one credit per sample; 2 of 2 used\)/);
  // a purchase, then a check-in restores service
  assert.equal(admin('licenses', 'credit', 'lic-online', '--credits', '5').code, 0);
  r = cli('license', 'checkin', model, '--server', url, '--license', 'lic-online');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /checked in: 2 credits granted; 2 credits left \(2 of 4 used\)/);
  r = cli('run', model, '--input', join(dir, 'x.json'), '--server', url, '--license', 'lic-online');
  assert.equal(r.code, 0, r.stderr);

  // Air-gapped: request → fulfil → run from the file.
  assert.equal(admin('licenses', 'grant', '--customer', 'acme', '--model', providerKey.modelId, '--credits', '10', '--id', 'lic-offline').code, 0);
  r = cli('license', 'request', model, '--license', 'lic-offline', '-o', join(dir, 'request.json'));
  assert.equal(r.code, 0, r.stderr);
  r = admin('licenses', 'fulfill', join(dir, 'request.json'), '-o', join(dir, 'license.json'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /license lic-offline, 10 credits/);
  r = admin('licenses', 'fulfill', join(dir, 'request.json'), '-o', join(dir, 'again.json'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /fulfilled before \(replay\)/);
  r = cli('run', model, '--input', join(dir, 'x.json'), '--license-file', join(dir, 'license.json'), '--license-state', join(dir, 'offline.state'), '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(JSON.parse(r.stdout).y, 'outputs printed');

  r = admin('audit', '--refused');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /refused {2}fulfill +lic-offline {2}PROVISION_NONCE/);
  // used = what enclaves reported at check-ins (2); the runs since are reported at the next one.
  r = admin('usage', '--customer', 'acme');
  assert.match(r.stdout, /acme {2}\S+ {2}licenses 3 {2}credits 18 {2}granted 14 {2}used 2 {2}enclaves 2/);
  r = cli('admin', 'licenses', 'list', '--server', url, '--token', 'wrong-token-0123456789');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /wrong admin token/);
});
