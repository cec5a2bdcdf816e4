/**
 * Leak test (issue 4): record every byte crossing the enclave pipe in both directions, the
 * enclave's stderr, the CLI's output and every file written during split and run (except the
 * provider key file); no 16-byte window of the tail's raw float32 weights, no tail node,
 * initializer or tail-only op name, and no model-key bytes may appear in any of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBundle } from '../bundle/create.ts';
import { decodeProviderKeyFile } from '../bundle/provider-key.ts';
import { isErrorCode } from '../errors.ts';
import { makeModel, node, tensor } from '../onnx/build.ts';
import { trustedProgramPath } from '../enclave/trusted-program.ts';
import { encodeModel } from '../onnx/codec.ts';
import { randomFeeds } from '../onnx/ort.ts';
import { mlpModel, randomFloats, seededRandom } from '../onnx/models.testkit.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';
import { splitModel } from '../split/extract.ts';
import { runCli } from '../cli/cli.testkit.ts';
import { Session } from './session.ts';
import { writeNpy } from './npy.ts';

const latin1 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

function filesUnder(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) filesUnder(p, out); else out.push(p);
  }
  return out;
}

/** What must never leave the enclave. */
interface Secrets { windows: Set<string>; names: string[]; keyForms: string[] }

function findLeak(haystack: Uint8Array, s: Secrets): string | null {
  const text = latin1(haystack);
  for (let i = 0; i + 16 <= text.length; i++) if (s.windows.has(text.slice(i, i + 16))) return `weight bytes at offset ${i}`;
  for (const n of s.names) if (text.includes(n)) return `name '${n}'`;
  for (const k of s.keyForms) if (text.includes(k)) return 'model key bytes';
  return null;
}

test('no tail weight, tail name or model-key byte crosses the pipe, reaches stderr/stdout or any written file', async () => {
  const d = mkdtempSync(join(tmpdir(), 'enn-leak-'));
  const provider = join(d, 'provider');
  const out = join(d, 'out');
  const home = join(d, 'home');
  const tmp = join(d, 'tmp');
  for (const p of [provider, out, home, tmp]) mkdirSync(p);
  const env = { ENCLAVE_NN_HOME: home, TMPDIR: tmp };
  process.env.ENCLAVE_NN_HOME = home;

  // The provider's side: the model (never scanned: it is the provider's plaintext) → split.
  const model = mlpModel();
  writeFileSync(join(provider, 'mlp.onnx'), encodeModel(model));
  const keyFile = join(provider, 'mlp.key');
  const split = runCli(['split', join(provider, 'mlp.onnx'), '--private', '2', '-o', join(out, 'mlp.enn'), '--key-out', keyFile], { env });
  assert.equal(split.code, 0, split.stderr);

  // The secrets: the tail as the split produces it.
  const { tail, inputs } = await splitModel(model, { privateLayers: 2 });
  const g = tail.graph!;
  const windows = new Set<string>();
  for (const t of g.initializer) {
    const raw = t.rawData.byteLength > 0 ? t.rawData : new Uint8Array(Float32Array.from(t.floatData).buffer);
    const s = latin1(raw);
    for (let i = 0; i + 16 <= s.length; i++) windows.add(s.slice(i, i + 16));
  }
  const names = [...g.node.map((n) => n.name), ...g.initializer.map((t) => t.name), 'Softmax'].filter((n) => n.length >= 4);
  assert.ok(windows.size > 1000 && names.includes('dense3/Gemm'), 'the secrets are what we think they are');
  const key = decodeProviderKeyFile(new Uint8Array(readFileSync(keyFile))).modelKey;
  const keyForms = [latin1(key), Buffer.from(key).toString('hex'), Buffer.from(key).toString('base64'), Buffer.from(key).toString('base64url')];
  const secrets: Secrets = { windows, names, keyForms };
  assert.ok(findLeak(encodeModel(tail), secrets)?.startsWith('weight bytes'), 'positive control: the plaintext tail is found');
  assert.equal(findLeak(encodeModel(tail), { windows: new Set(), names, keyForms: [] }), `name '${names[0]}'`, 'positive control: names are found');

  // The customer's side, in-process with a tap on the pipes, with both engines.
  const traffic = { in: [] as Uint8Array[], out: [] as Uint8Array[], err: [] as Uint8Array[] };
  for (const engine of ['ort', 'wasm']) {
    const session = await Session.create({
      bundle: join(out, 'mlp.enn'), keySource: { kind: 'insecure-dev-key', providerKey: keyFile }, engine,
      enclave: { onTraffic: (dir, b) => traffic[dir].push(b.slice()), onStderr: (b) => traffic.err.push(b.slice()) },
    });
    try {
      for (const batch of [1, 8]) await session.run(randomFeeds(inputs, batch, seededRandom(batch)));
      session.enclaveProcess!.kill('SIGKILL'); // a restart goes through SEAL/UNSEAL bytes too
      await session.enclaveProcess!.exited();
      await session.run(randomFeeds(inputs, 2, seededRandom(3)));
    } finally {
      await session.close();
    }
  }
  assert.ok(traffic.out.length > 5 && traffic.in.length > 5, 'traffic was recorded');

  // And the CLI as a real process.
  writeFileSync(join(out, 'x.npy'), writeNpy(randomFeeds(inputs, 4, seededRandom(4)).x!));
  const run = runCli(['run', join(out, 'mlp.enn'), '--input', join(out, 'x.npy'), '--output', join(out, 'y.npy'), '--insecure-dev-key', keyFile], { env });
  assert.equal(run.code, 0, run.stderr);

  const haystacks: [string, Uint8Array][] = [
    ['host → enclave pipe', Buffer.concat(traffic.out)],
    ['enclave → host pipe', Buffer.concat(traffic.in)],
    ['enclave stderr', Buffer.concat(traffic.err)],
    ['CLI output', new TextEncoder().encode(split.stdout + split.stderr + run.stdout + run.stderr)],
    ['trusted program', new Uint8Array(readFileSync(await trustedProgramPath()))],
    ...[out, home, tmp].flatMap((p) => filesUnder(p)).map((f): [string, Uint8Array] => [f, new Uint8Array(readFileSync(f))]),
  ];
  assert.ok(haystacks.some(([n]) => n.endsWith('mlp.enn')) && haystacks.some(([n]) => n.endsWith('y.npy')), 'the written files are scanned');
  for (const [name, bytes] of haystacks) {
    const leak = findLeak(bytes, secrets);
    assert.equal(leak, null, `${name} leaks ${leak}`);
  }
});

test('an engine failure (both engines) names no tail node, op or shape: not in the error, on stderr or on the pipe', async () => {
  process.env.ENCLAVE_NN_HOME = mkdtempSync(join(tmpdir(), 'enn-leak-home-'));
  // A tail that passes the enclave's input checks (one batch size) and fails inside the engine:
  // Add broadcasts [N, W] with [N, V], W = 3 and V = 2 are both legal sizes for their symbols.
  const inputs: TensorSpec[] = [{ name: 'left', dtype: 'float32', shape: ['N', 'W'] }, { name: 'right', dtype: 'float32', shape: ['N', 'V'] }];
  const outputs: TensorSpec[] = [{ name: 'out', dtype: 'float32', shape: ['N', 'W'] }];
  const tail = makeModel({
    name: 'failing-tail', inputs, outputs,
    nodes: [node('Add', ['left', 'right'], ['secret_sum'], {}, 'secret_block/Add'), node('Mul', ['secret_sum', 'secret_scale'], ['out'], {}, 'secret_scale/Mul')],
    initializers: [tensor('secret_scale', 'float32', [1], randomFloats(1, seededRandom(9)))],
  });
  const { bytes, providerKey } = createBundle({ head: new Uint8Array(0), tail: encodeModel(tail), inputs, outputs, headInputs: inputs, bucketMinSize: 4096, chunkSize: 4096 });
  // What the engine would say: the node, its op, the tensors and the shapes it could not broadcast.
  const forbidden = ['secret_block', 'secret_scale', 'secret_sum', 'Add', 'Mul', 'broadcast', 'Broadcast', '3 by 2', '2 by 3', '{1,3}', '{1,2}', 'Name:'];
  const rows = (w: number) => ({ dtype: 'float32' as const, dims: [1, w], data: new Float32Array(w).fill(1) });
  for (const engine of ['ort', 'wasm']) {
    const traffic = { in: [] as Uint8Array[], err: [] as Uint8Array[] };
    const session = await Session.create({
      bundle: bytes, keySource: { kind: 'insecure-dev-key', providerKey }, engine,
      enclave: { onTraffic: (dir, b) => { if (dir === 'in') traffic.in.push(b.slice()); }, onStderr: (b) => traffic.err.push(b.slice()) },
    });
    let message = '';
    try {
      await assert.rejects(session.run({ left: rows(3), right: rows(2) }), (e) => { message = (e as Error).message; return isErrorCode(e, 'ENCLAVE_ENGINE'); }, engine);
      assert.deepEqual((await session.run({ left: rows(3), right: rows(3) })).out!.dims, [1, 3], `${engine}: the enclave still answers`);
    } finally {
      await session.close();
    }
    const stderr = Buffer.concat(traffic.err).toString('latin1');
    for (const [where, text] of [['error message', message], ['enclave stderr', stderr], ['enclave → host pipe', Buffer.concat(traffic.in).toString('latin1')]] as const) {
      for (const f of forbidden) assert.ok(!text.includes(f), `${engine}: ${where} contains '${f}': ${JSON.stringify(text.slice(Math.max(0, text.indexOf(f) - 80), text.indexOf(f) + 80))}`);
    }
  }
});
