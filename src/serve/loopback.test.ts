/**
 * The server for real over loopback, with clients that know nothing of Enclave-NN: curl, and a
 * Python client written against the protocol's specification (oip_client.py, Debian's
 * python3-requests). JSON and binary bodies, concurrent clients with exact sample counts, bad
 * requests with the protocol's error body; then the CLI as a real process.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BIN, REPO_ROOT, runMain } from '../cli/cli.testkit.ts';
import { maxAbsDiff, type TensorData } from '../onnx/ort.ts';
import { useTempEnclaveHome } from '../runtime/support.testkit.ts';
import { InferenceServer } from './server.ts';
import { mlpBundle, mlpInput, reference, writeMlpFiles } from './support.testkit.ts';

const home = useTempEnclaveHome();
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'enn-serve-loop-'));
const TOKEN = 'loopback-token-0123456789abcdef';
const MAX_BODY = 64 * 1024;
const PY_CLIENT = join(REPO_ROOT, 'src/serve/oip_client.py');
const hasPython = await run('python3', ['-c', 'import requests']).then(() => true, () => false);
const hasCurl = await run('curl', ['--version']).then(() => true, () => false);

let fx: Awaited<ReturnType<typeof mlpBundle>>;
let server: InferenceServer;
let url: string;
before(async () => {
  fx = await mlpBundle();
  server = await InferenceServer.create({
    bundle: fx.bundle, name: 'mlp', keySource: () => ({ kind: 'insecure-dev-key', providerKey: fx.providerKey }),
    maxBatch: 8, maxWaitMs: 5, token: TOKEN, maxBodySize: MAX_BODY, session: { enclave: { onStderr: () => undefined } }, log: () => undefined,
  });
  ({ url } = await server.listen(0));
});
after(async () => { await server?.close(); });

const counts = async (): Promise<{ forwards: number; samples: number }> => {
  const st = await server.sessions[0]!.status();
  return { forwards: st.forwardCount as number, samples: st.sampleCount as number };
};
const asTensor = (o: { shape: number[]; data: number[] }): TensorData => ({ dtype: 'float32', dims: o.shape, data: Float32Array.from(o.data) });

test('Python client (python3-requests, written from the spec): JSON, binary, 8 threads, bad requests; exact counts', { skip: !hasPython && 'needs python3-requests' }, async () => {
  const sizes = [1, 2, 3, 4, 1, 2, 1, 3, 2, 1, 1, 4];
  const xs = sizes.map((n, i) => mlpInput(n, 300 + i));
  const casesFile = join(dir, 'cases.json');
  writeFileSync(casesFile, JSON.stringify({ cases: xs.map((x) => ({ samples: x.dims[0], data: Array.from(x.data as Float32Array) })), threads: 8, oversize_bytes: MAX_BODY + 1 }));
  const c0 = await counts();
  const { stdout } = await run('python3', [PY_CLIENT, url, 'mlp', casesFile, TOKEN], { maxBuffer: 16 * 1024 * 1024 });
  const c1 = await counts();
  type Answer = [number, { outputs: { name: string; datatype: string; shape: number[]; data: number[] }[]; id?: string }];
  const out = JSON.parse(stdout) as {
    health: Record<string, { status: number; body: unknown }>; metadata: { status: number; body: unknown };
    json: Answer[]; binary: Answer[]; concurrent: Answer[]; bad: Record<string, { status: number; body: Record<string, unknown> }>;
  };
  assert.deepEqual(out.health['/v2/health/live'], { status: 200, body: { live: true } });
  assert.deepEqual(out.health['/v2/health/ready'], { status: 200, body: { ready: true } });
  assert.deepEqual(out.health['/v2/models/mlp/ready'], { status: 200, body: { name: 'mlp', ready: true } });
  assert.deepEqual(out.metadata.body, { name: 'mlp', platform: 'onnx_onnxv1', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 16] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 4] }] });
  for (const [i, x] of xs.entries()) {
    const want = await reference(fx.model, x);
    for (const kind of ['json', 'binary', 'concurrent'] as const) {
      const [status, body] = out[kind][i]!;
      assert.equal(status, 200, `${kind} ${i}: ${JSON.stringify(body)}`);
      const y = body.outputs.find((o) => o.name === 'y')!;
      assert.equal(y.datatype, 'FP32');
      assert.ok(maxAbsDiff(asTensor(y), want) <= 1e-5, `${kind} case ${i}: equals the unsplit model`);
    }
    assert.equal(out.json[i]![1].id, 'py-1', 'the id is echoed');
  }
  const samples = sizes.reduce((a, b) => a + b, 0);
  assert.equal(c1.samples - c0.samples, 3 * samples, 'every sample sent was counted once (JSON, binary and concurrent rounds); the bad requests none');
  const expect: Record<string, [number, RegExp]> = {
    wrong_shape: [400, /input 'x' has shape \[1,15\], expected \[-1,16\]/],
    wrong_datatype: [400, /datatype INT64, expected FP32/],
    wrong_name: [400, /unknown input 'x_nope'/],
    wrong_model: [404, /Cannot find model 'mlp_nope'/],
    bad_json: [400, /not JSON/],
    oversize: [413, new RegExp(`body exceeds ${MAX_BODY} bytes`)],
    binary_short: [400, /needs 64 bytes of binary data, 60 remain/],
  };
  for (const [k, [status, re]] of Object.entries(expect)) {
    assert.equal(out.bad[k]!.status, status, `${k}: ${JSON.stringify(out.bad[k])}`);
    assert.deepEqual(Object.keys(out.bad[k]!.body), ['error'], `${k}: the protocol's error body`);
    assert.match(out.bad[k]!.body.error as string, re, k);
  }
});

test('curl: health, metadata, JSON and binary inference, 413, 401 and 400 with the error body', { skip: !hasCurl && 'needs curl' }, async () => {
  const curl = async (args: string[]): Promise<{ status: number; body: Buffer; headers: string }> => {
    const o = join(dir, 'curl.out');
    const h = join(dir, 'curl.headers');
    const { stdout } = await run('curl', ['-sS', '-o', o, '-D', h, '-w', '%{http_code}', ...args]);
    return { status: Number(stdout), body: readFileSync(o), headers: readFileSync(h, 'utf8') };
  };
  const bearer = ['-H', `Authorization: Bearer ${TOKEN}`];
  const live = await curl([`${url}/v2/health/live`]);
  assert.deepEqual([live.status, JSON.parse(live.body.toString())], [200, { live: true }]);
  const meta = await curl([...bearer, `${url}/v2/models/mlp`]);
  assert.equal((JSON.parse(meta.body.toString()) as { inputs: { datatype: string }[] }).inputs[0]!.datatype, 'FP32');

  const x = mlpInput(2, 77);
  const want = await reference(fx.model, x);
  const reqFile = join(dir, 'req.json');
  writeFileSync(reqFile, JSON.stringify({ inputs: [{ name: 'x', shape: [2, 16], datatype: 'FP32', data: Array.from(x.data as Float32Array) }] }));
  const j = await curl([...bearer, '-H', 'Content-Type: application/json', '--data-binary', `@${reqFile}`, `${url}/v2/models/mlp/infer`]);
  assert.equal(j.status, 200, j.body.toString());
  assert.ok(maxAbsDiff(asTensor((JSON.parse(j.body.toString()) as { outputs: { shape: number[]; data: number[] }[] }).outputs[0]!), want) <= 1e-5);

  // Binary extension, as in the extension's example: the JSON header, then the raw FP32 bytes.
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [2, 16], datatype: 'FP32', parameters: { binary_data_size: 128 } }], outputs: [{ name: 'y', parameters: { binary_data: true } }] }));
  const binFile = join(dir, 'req.bin');
  writeFileSync(binFile, Buffer.concat([header, Buffer.from(x.data.buffer)]));
  const b = await curl([...bearer, '-H', 'Content-Type: application/octet-stream', '-H', `Inference-Header-Content-Length: ${header.byteLength}`, '--data-binary', `@${binFile}`, `${url}/v2/models/mlp/infer`]);
  assert.equal(b.status, 200, b.body.toString());
  const n = Number(/inference-header-content-length: (\d+)/i.exec(b.headers)![1]);
  const meta2 = JSON.parse(b.body.subarray(0, n).toString()) as { outputs: { shape: number[]; parameters: { binary_data_size: number } }[] };
  assert.deepEqual(meta2.outputs[0]!.parameters, { binary_data_size: 32 });
  const y = new Float32Array(new Uint8Array(b.body.subarray(n)).buffer);
  assert.ok(maxAbsDiff({ dtype: 'float32', dims: [2, 4], data: y }, want) <= 1e-5);

  const bigFile = join(dir, 'big.json');
  writeFileSync(bigFile, Buffer.alloc(MAX_BODY * 4, 0x20));
  const big = await curl([...bearer, '--data-binary', `@${bigFile}`, `${url}/v2/models/mlp/infer`]);
  assert.deepEqual([big.status, Object.keys(JSON.parse(big.body.toString()))], [413, ['error']]);
  const noAuth = await curl(['--data-binary', `@${reqFile}`, `${url}/v2/models/mlp/infer`]);
  assert.equal(noAuth.status, 401);
  assert.match(noAuth.headers, /www-authenticate: Bearer/i);
  assert.match((JSON.parse(noAuth.body.toString()) as { error: string }).error, /bearer token/);
  const bad = await curl([...bearer, '-d', '{"inputs":', `${url}/v2/models/mlp/infer`]);
  assert.deepEqual([bad.status, Object.keys(JSON.parse(bad.body.toString()))], [400, ['error']]);
});

test('CLI: serve as a real process warns beyond loopback, answers with the token, stops on SIGTERM', { skip: !hasCurl && 'needs curl' }, async () => {
  const { bundlePath, keyPath } = writeMlpFiles(dir, fx);
  const child = spawn(process.execPath, [BIN, 'serve', bundlePath, '--insecure-dev-key', keyPath, '--port', '0', '--host', '0.0.0.0', '--token', TOKEN, '--max-batch', '4'], {
    cwd: REPO_ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ENCLAVE_NN_HOME: home },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); const m = /on http:\/\/0\.0\.0\.0:(\d+)\//.exec(stdout); if (m) resolve(Number(m[1])); });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  try {
    assert.match(stdout, /serve: model 'mlp' on http:\/\/0\.0\.0\.0:\d+\/v2\/models\/mlp \(1 enclave, max batch 4, max wait 2 ms\)/);
    assert.match(stderr, /WARNING: serving http:\/\/0\.0\.0\.0:\d+ beyond loopback: a bearer token is required, but plain HTTP/);
    assert.match(stderr, /INSECURE: development key path/);
    const ready = await run('curl', ['-sS', `http://127.0.0.1:${port}/v2/health/ready`]);
    assert.deepEqual(JSON.parse(ready.stdout), { ready: true });
    const meta = await run('curl', ['-sS', '-H', `Authorization: Bearer ${TOKEN}`, `http://127.0.0.1:${port}/v2/models/mlp`]);
    assert.equal((JSON.parse(meta.stdout) as { name: string }).name, 'mlp');
  } finally {
    child.kill('SIGTERM');
  }
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, stderr);
});

// In-process; serve's real-process test is the one above.
test('CLI: bad usage is one line naming what is wrong, exit 2, nothing started', async () => {
  const { bundlePath, keyPath } = writeMlpFiles(dir, fx);
  const cases: [string[], RegExp][] = [
    [['serve', bundlePath], /give one of --insecure-dev-key provider\.key \(development\), --server URL --license ID, or --license-file/],
    [['serve', bundlePath, '--insecure-dev-key', keyPath, '--max-batch', '0'], /--max-batch must be ≥ 1, got 0/],
    [['serve', bundlePath, '--insecure-dev-key', keyPath, '--token', 'short'], /--token must be at least 16 characters/],
    [['serve', bundlePath, '--insecure-dev-key', keyPath, '--port', 'x'], /--port must be an integer/],
  ];
  for (const [args, re] of cases) {
    // A case that starts serving anyway is stopped after 10 s and fails on its exit code 0, not the test timeout.
    const r = await runMain(args, { stop: AbortSignal.timeout(10_000) });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr.split('\n')[0]!, re);
  }
});
