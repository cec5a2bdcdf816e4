/**
 * The licensing commands: license-server, admin, run with --server and --license-file, license
 * request/checkin, on the embedded store and the INSECURE sim platform. The whole flow runs
 * in-process through the CLI's main() (STYLE.md 15: in-process first); the second test runs
 * license-server, admin and license once each as real processes, and that real server serves the
 * in-process runs of the tests after it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeProviderKeyFile } from '../../bundle/provider-key.ts';
import { sha256 } from '../../crypto/index.ts';
import { trustedProgramPath } from '../../enclave/trusted-program.ts';
import { mlpModel } from '../../onnx/models.testkit.ts';
import { freshPgliteDir } from '../../license/pglite.testkit.ts';
import { bundleOfSplit, everySplit } from '../../runtime/support.testkit.ts';
import { testProviderKey } from '../../license/support.testkit.ts';
import { BIN, runCli, runMain } from '../cli.testkit.ts';

const dir = mkdtempSync(join(tmpdir(), 'enn-license-cli-'));
process.env.ENCLAVE_NN_HOME = join(dir, 'home'); // process-wide: the in-process commands and their enclaves
delete process.env.ENCLAVE_NN_LICENSE_SERVER;
const env: NodeJS.ProcessEnv = { ENCLAVE_NN_ADMIN_TOKEN: 'cli-admin-token-0123456789abcdef' };
const data = join(dir, 'data');
const db = await freshPgliteDir(); // an empty cluster copied, not made: PGlite's initdb costs seconds
const stopServer = new AbortController();
let server: ChildProcess | undefined;
/** The first test's server URL and model, reused by the later tests. */
let shared: { url: string; model: string; modelId: string } | undefined;
after(() => { stopServer.abort(); server?.kill('SIGTERM'); });

const cli = (...args: string[]) => runMain(args, { env });

/** Starts `enclave-nn license-server` in-process; resolves to its URL and its run (ends when stopped). */
async function startServer(): Promise<{ url: string; done: ReturnType<typeof runMain> }> {
  let listening: (url: string) => void;
  const url = new Promise<string>((resolve) => { listening = resolve; });
  let out = '';
  const done = runMain(['license-server', '--data', data, '--db', db, '--port', '0', '--insecure-trust-sim'], {
    env, stop: stopServer.signal, onStdout: (t) => { out += t; const m = /listening on (\S+)/.exec(out); if (m) listening(m[1]!); },
  });
  return { url: await Promise.race([url, done.then((r) => { throw new Error(`license-server exited ${r.code}: ${r.stderr}`); })]), done };
}

test('license-server, admin, run --server (quota), license request → admin fulfill → run --license-file, replayed request refused', async () => {
  const { splits } = await everySplit(mlpModel());
  const { bytes, providerKey } = bundleOfSplit(splits[1]!);
  const model = join(dir, 'model.enn');
  writeFileSync(model, bytes);
  await writeProviderKeyFile(join(dir, 'model.enn.key'), providerKey);
  writeFileSync(join(dir, 'x.json'), JSON.stringify({ x: [Array.from({ length: 16 }, (_, i) => i / 16)] }));
  const measurement = Buffer.from(sha256(readFileSync(await trustedProgramPath()))).toString('hex');

  const { url, done } = await startServer();
  const admin = (...a: string[]) => cli('admin', ...a, '--server', url);
  shared = { url, model, modelId: providerKey.modelId };

  let r = await admin('models', 'add', join(dir, 'model.enn.key'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no accepted measurement/);
  r = await cli('license', 'measurement');
  assert.equal(r.stdout.trim(), measurement);
  r = await admin('models', 'add', join(dir, 'model.enn.key'), '--local-sim-measurement', '--allow-debug');
  assert.equal(r.code, 0, r.stderr);
  assert.match((await admin('models', 'list')).stdout, new RegExp(`${providerKey.modelId} {2}${measurement.slice(0, 16)} {2}debug allowed$`, 'm'));
  assert.equal((await admin('customers', 'add', 'acme')).code, 0);
  assert.equal((await admin('licenses', 'grant', '--customer', 'acme', '--model', providerKey.modelId, '--credits', '1', '--id', 'lic-not-sim')).code, 0);
  // Not a sim model: --insecure-trust-sim does not extend the sim root to it.
  r = await cli('run', model, '--input', join(dir, 'x.json'), '--server', url, '--license', 'lic-not-sim');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /is not a pinned root/);
  assert.match((await admin('models', 'remove', providerKey.modelId)).stderr, /1 license\(s\) name it/);
  // The bundle's policy names the sim platform only: a sim model (INSECURE, announced).
  r = await admin('models', 'update', providerKey.modelId, '--bundle', model);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /INSECURE: model \S+ is a sim model/);
  assert.match((await admin('models', 'list')).stdout, new RegExp(`${providerKey.modelId} {2}any measurement {2}INSECURE sim model`));
  assert.match((await admin('customers', 'list')).stdout, /^acme {2}acme {2}since \d{4}-/m);
  // A model no license names can be removed (and is gone from the list).
  const other = bundleOfSplit(splits[0]!);
  writeFileSync(join(dir, 'other.enn'), other.bytes);
  await writeProviderKeyFile(join(dir, 'other.enn.key'), other.providerKey);
  assert.equal((await admin('models', 'add', join(dir, 'other.enn.key'), '--bundle', join(dir, 'other.enn'))).code, 0);
  assert.match((await admin('models', 'list')).stdout, new RegExp(other.providerKey.modelId));
  r = await admin('models', 'remove', other.providerKey.modelId);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`removed model ${other.providerKey.modelId}`));
  assert.doesNotMatch((await admin('models', 'list')).stdout, new RegExp(other.providerKey.modelId));
  assert.match((await admin('models', 'remove', other.providerKey.modelId)).stderr, /is not registered/);
  r = await admin('licenses', 'grant', '--customer', 'acme', '--model', providerKey.modelId, '--credits', '2', '--id', 'lic-online');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /lic-online {2}acme/);

  // Online license: 2 credits, the third run is refused with the quota error (exit 2, one line).
  for (let i = 0; i < 2; i++) {
    r = await cli('run', model, '--input', join(dir, 'x.json'), '--server', url, '--license', 'lic-online');
    assert.equal(r.code, 0, r.stderr);
  }
  r = await cli('run', model, '--input', join(dir, 'x.json'), '--server', url, '--license', 'lic-online');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /enclave-nn run: Cannot run inference: license lic-online quota exhausted: 0 credits left, 1 asked \(one credit per sample; 2 of 2 used\)/);
  // a purchase, then a check-in restores service
  assert.equal((await admin('licenses', 'credit', 'lic-online', '--credits', '5')).code, 0);
  r = await cli('license', 'checkin', model, '--server', url, '--license', 'lic-online');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /checked in: 2 credits granted; 2 credits left \(2 of 4 used\)/);
  r = await cli('run', model, '--input', join(dir, 'x.json'), '--server', url, '--license', 'lic-online');
  assert.equal(r.code, 0, r.stderr);

  // Air-gapped: request → fulfil → run from the file.
  assert.equal((await admin('licenses', 'grant', '--customer', 'acme', '--model', providerKey.modelId, '--credits', '10', '--id', 'lic-offline')).code, 0);
  r = await cli('license', 'request', model, '--license', 'lic-offline', '-o', join(dir, 'request.json'));
  assert.equal(r.code, 0, r.stderr);
  r = await admin('licenses', 'fulfill', join(dir, 'request.json'), '-o', join(dir, 'license.json'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /license lic-offline, 10 credits/);
  r = await admin('licenses', 'fulfill', join(dir, 'request.json'), '-o', join(dir, 'again.json'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /fulfilled before \(replay\)/);
  r = await cli('run', model, '--input', join(dir, 'x.json'), '--license-file', join(dir, 'license.json'), '--license-state', join(dir, 'offline.state'), '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(JSON.parse(r.stdout).y, 'outputs printed');

  r = await admin('audit', '--refused');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /refused {2}fulfill +lic-offline {2}PROVISION_NONCE/);
  // used = what enclaves reported at check-ins (2); the runs since are reported at the next one.
  r = await admin('usage', '--customer', 'acme');
  assert.match(r.stdout, /acme {2}\S+ {2}licenses 3 {2}credits 18 {2}granted 14 {2}used 2 {2}enclaves 2/);
  r = await cli('admin', 'licenses', 'list', '--server', url, '--token', 'wrong-token-0123456789');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /wrong admin token/);

  stopServer.abort();
  const s = await done;
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stderr, /INSECURE: license-server trusts the simulated SGX root/);
  assert.match(s.stderr, /license-server: stopped\n$/);
});

let serverErr = '';
let exited: Promise<number | null> | undefined;

test('license-server, admin and license as real processes: the store kept across a restart, the measurement (the server then serves the tests below)', async () => {
  const realEnv = { ...process.env, ...env };
  server = spawn(process.execPath, [BIN, 'license-server', '--data', data, '--db', db, '--port', '0', '--insecure-trust-sim'], { env: realEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stderr!.on('data', (c: Buffer) => { serverErr += c.toString(); });
  exited = new Promise<number | null>((resolve) => server!.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server!.stdout!.on('data', (c: Buffer) => { out += c.toString(); const m = /listening on (\S+)/.exec(out); if (m) resolve(m[1]!); });
    void exited!.then((code) => reject(new Error(`license-server exited ${code}: ${serverErr}`)));
  });
  assert.match(serverErr, /INSECURE: license-server trusts the simulated SGX root/);
  const r = runCli(['admin', 'licenses', 'list', '--server', url], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^lic-online {2}acme/m, 'the license the first test granted');
  const m = runCli(['license', 'measurement']);
  assert.equal(m.code, 0, m.stderr);
  assert.equal(m.stdout.trim(), Buffer.from(sha256(readFileSync(await trustedProgramPath()))).toString('hex'));
  // The in-process server of the first test has stopped; this one, on the same store, serves the rest.
  assert.ok(shared, 'the first test set up the model');
  shared = { ...shared, url };
});

test('a damaged license state file is refused with one line naming it and --reprovision; --reprovision spends new credits; a license-file state likewise', async () => {
  assert.ok(shared, 'the first test started the server');
  const { url, model, modelId } = shared;
  const admin = (...a: string[]) => cli('admin', ...a, '--server', url);
  assert.equal((await admin('licenses', 'grant', '--customer', 'acme', '--model', modelId, '--credits', '100', '--offline-inferences', '40', '--id', 'lic-damaged')).code, 0);
  const state = join(dir, 'damaged.state');
  const run = (...more: string[]) => cli('run', model, '--input', join(dir, 'x.json'), '--server', url, '--license', 'lic-damaged', '--license-state', state, ...more);
  let r = await run();
  assert.equal(r.code, 0, r.stderr);
  const granted = async () => (JSON.parse((await admin('licenses', 'list', '--json')).stdout) as { licenses: { licenseId: string; creditsGranted: number }[] }).licenses.find((l) => l.licenseId === 'lic-damaged')!.creditsGranted;
  assert.equal(await granted(), 40);
  // One flipped byte in the sealed state: refused, nothing re-provisioned, no credits taken.
  const bytes = readFileSync(state);
  bytes[bytes.length - 5]! ^= 1;
  writeFileSync(state, bytes);
  r = await run();
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split('\n').filter((l) => !l.includes('INSECURE')).length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`enclave-nn run: Cannot use license state ${state.replace(/[.]/g, '\\.')}: it does not open in this enclave \\(damaged, or sealed by another program or installation\\); restore it from a backup, or run with --reprovision to provision again and spend new credits of license lic-damaged`));
  assert.equal(await granted(), 40, 'the refusal took no credits');
  // The user's choice: --reprovision provisions again (40 more credits off the license).
  r = await run('--reprovision');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await granted(), 80);
  assert.equal((await run()).code, 0, 'the new state opens');

  // Air-gapped: a damaged state of a license file is refused too; --reprovision starts again from the file.
  assert.equal((await admin('licenses', 'grant', '--customer', 'acme', '--model', modelId, '--credits', '10', '--id', 'lic-damaged-file')).code, 0);
  assert.equal((await cli('license', 'request', model, '--license', 'lic-damaged-file', '-o', join(dir, 'request2.json'))).code, 0);
  assert.equal((await admin('licenses', 'fulfill', join(dir, 'request2.json'), '-o', join(dir, 'license2.json'))).code, 0);
  const fileState = join(dir, 'license2.state');
  const runFile = (...more: string[]) => cli('run', model, '--input', join(dir, 'x.json'), '--license-file', join(dir, 'license2.json'), '--license-state', fileState, ...more);
  assert.equal((await runFile()).code, 0);
  writeFileSync(fileState, Buffer.from('not a sealed state'));
  r = await runFile();
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Cannot use license state .*license2\.state: it does not open in this enclave .*--reprovision to start again from .*license2\.json/);
  assert.equal((await runFile('--reprovision')).code, 0);
});

test('admin models add --accept-tcb: unknown statuses are refused before any request; accepted ones are stored with UpToDate', async () => {
  assert.ok(shared, 'the first test started the server');
  const key = join(dir, 'tcb-model.key');
  const pk = testProviderKey('tcb-model');
  await writeProviderKeyFile(key, pk);
  let r = await cli('admin', 'models', 'add', key, '--server', shared.url, '--mrenclave', 'ab'.repeat(32), '--accept-tcb', 'Revoked');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--accept-tcb 'Revoked' is not one of UpToDate, SWHardeningNeeded/);
  r = await cli('admin', 'models', 'add', key, '--server', shared.url, '--mrenclave', 'ab'.repeat(32), '--accept-tcb', 'SWHardeningNeeded');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /TCB status SWHardeningNeeded .* will receive this model's key/);
  const models = JSON.parse((await cli('admin', 'models', 'list', '--server', shared.url, '--json')).stdout) as { models: { id: string; policy: { acceptedTcbStatuses?: string[] } }[] };
  assert.deepEqual(models.models.find((m) => m.id === 'tcb-model')!.policy.acceptedTcbStatuses, ['UpToDate', 'SWHardeningNeeded']);
});

test('license-server --collateral names a directory: a missing one is one line and exit 2 before anything starts', async () => {
  const r = await cli('license-server', '--data', join(dir, 'data-collateral'), '--port', '0', '--collateral', join(dir, 'no-such-dir'));
  assert.equal(r.code, 2, r.stderr);
  // One line naming what failed (then, as for every usage error, the command's usage line).
  assert.equal(r.stderr.split('\n')[0], `enclave-nn license-server: Cannot use collateral directory ${join(dir, 'no-such-dir')}: it is not a directory`);
  assert.match(r.stderr.split('\n')[1]!, /^usage: enclave-nn license-server /);
});

test('the real license-server stops cleanly on SIGTERM', async () => {
  assert.ok(server && exited, 'the real-process test started it');
  server.kill('SIGTERM');
  assert.equal(await exited, 0, serverErr);
  assert.match(serverErr, /license-server: stopped/);
});
