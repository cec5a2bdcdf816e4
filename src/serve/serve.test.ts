/**
 * The server in-process (routes called as a function, no sockets): every endpoint of the Open
 * Inference Protocol against a real enclave (sim platform), JSON and binary bodies, bad requests
 * answered with the protocol's error body before reaching the enclave, and batching under
 * concurrency with exact sample counts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { maxAbsDiff, type TensorData } from '../onnx/ort.ts';
import { useTempEnclaveHome } from '../runtime/support.testkit.ts';
import { EnclaveNnError } from '../errors.ts';
import { Batcher, concatFeeds, splitOutputs } from './batcher.ts';
import type { ServeRequest, ServeResponse } from './routes.ts';
import { InferenceServer } from './server.ts';
import { mlpBundle, mlpInput, reference } from './support.testkit.ts';

useTempEnclaveHome();
const utf8 = new TextEncoder();
const quiet = { onStderr: () => undefined };
const TOKEN = 'test-token-0123456789abcdef';

let fx: Awaited<ReturnType<typeof mlpBundle>>;
let server: InferenceServer;
const logs: string[] = [];
before(async () => {
  fx = await mlpBundle();
  server = await InferenceServer.create({
    bundle: fx.bundle, name: 'mlp', keySource: () => ({ kind: 'insecure-dev-key', providerKey: fx.providerKey }),
    maxBatch: 8, maxWaitMs: 20, token: TOKEN, session: { enclave: quiet }, log: (l) => logs.push(l),
  });
});
after(async () => { await server?.close(); });

const auth = { authorization: `Bearer ${TOKEN}` };
async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = auth): Promise<{ status: number; json: Record<string, unknown>; res: ServeResponse }> {
  const bytes = body === undefined ? new Uint8Array(0) : body instanceof Uint8Array ? body : utf8.encode(typeof body === 'string' ? body : JSON.stringify(body));
  const req: ServeRequest = { method, url, headers, body: bytes };
  const res = await server.handle(req);
  const n = res.headers['inference-header-content-length'];
  const json = JSON.parse(new TextDecoder().decode(n === undefined ? res.body : res.body.subarray(0, Number(n)))) as Record<string, unknown>;
  return { status: res.status, json, res };
}
const infer = (x: TensorData, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: x.dims, data: Array.from(x.data as Float32Array) }], ...extra });
const forwards = async (): Promise<number> => (await server.sessions[0]!.status()).forwardCount as number;

test('health, server metadata, model metadata (public inputs and outputs only) and model ready', async () => {
  assert.deepEqual((await call('GET', '/v2/health/live', undefined, {})).json, { live: true });
  assert.deepEqual((await call('GET', '/v2/health/ready', undefined, {})).json, { ready: true });
  assert.deepEqual((await call('GET', '/v2')).json, { name: 'enclave-nn', version: '0.1.0', extensions: ['binary_tensor_data'] });
  const meta = await call('GET', '/v2/models/mlp');
  assert.equal(meta.status, 200);
  assert.deepEqual(meta.json, {
    name: 'mlp', platform: 'onnx_onnxv1',
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 16] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 4] }],
  });
  assert.doesNotMatch(JSON.stringify(meta.json), /dense|h1|h2|Gemm/, 'no name of the private graph');
  assert.deepEqual((await call('GET', '/v2/models/mlp/ready')).json, { name: 'mlp', ready: true });
});

test('JSON inference equals the unsplit model; the id is echoed; requested outputs only', async () => {
  const x = mlpInput(3, 1);
  const want = await reference(fx.model, x);
  const r = await call('POST', '/v2/models/mlp/infer', infer(x, { id: 'req-42', outputs: [{ name: 'y' }] }));
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.model_name, 'mlp');
  assert.equal(r.json.id, 'req-42');
  const out = (r.json.outputs as { name: string; datatype: string; shape: number[]; data: number[] }[])[0]!;
  assert.deepEqual([out.name, out.datatype, out.shape], ['y', 'FP32', [3, 4]]);
  assert.ok(maxAbsDiff({ dtype: 'float32', dims: out.shape, data: Float32Array.from(out.data) }, want) <= 1e-5);
  // Nested data (the tensor's natural shape) is accepted as well as flat data.
  const nested = await call('POST', '/v2/models/mlp/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 16], data: [0, 1, 2].map((i) => Array.from((x.data as Float32Array).slice(i * 16, i * 16 + 16))) }] });
  assert.deepEqual((nested.json.outputs as { data: number[] }[])[0]!.data, out.data);
});

test('binary tensor data extension: binary input, binary output, Inference-Header-Content-Length', async () => {
  const x = mlpInput(2, 2);
  const want = await reference(fx.model, x);
  const header = utf8.encode(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 16], parameters: { binary_data_size: 128 } }], parameters: { binary_data_output: true } }));
  const body = new Uint8Array(header.byteLength + 128);
  body.set(header);
  body.set(new Uint8Array(x.data.buffer), header.byteLength);
  const r = await call('POST', '/v2/models/mlp/infer', body, { ...auth, 'inference-header-content-length': String(header.byteLength) });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.res.headers['content-type'], 'application/octet-stream');
  const n = Number(r.res.headers['inference-header-content-length']);
  const out = (r.json.outputs as { name: string; shape: number[]; parameters: { binary_data_size: number } }[])[0]!;
  assert.deepEqual([out.name, out.shape, out.parameters.binary_data_size, r.res.body.byteLength - n], ['y', [2, 4], 32, 32]);
  const y = new Float32Array(r.res.body.slice(n).buffer);
  assert.ok(maxAbsDiff({ dtype: 'float32', dims: [2, 4], data: y }, want) <= 1e-5);
  // JSON input, one output asked as binary data.
  const r2 = await call('POST', '/v2/models/mlp/infer', infer(x, { outputs: [{ name: 'y', parameters: { binary_data: true } }] }));
  assert.deepEqual(r2.res.body.slice(Number(r2.res.headers['inference-header-content-length'])), r.res.body.slice(n));
});

test('bad requests get the protocol error body and status, and never reach the enclave', async () => {
  const before = await forwards();
  const x = mlpInput(1, 3);
  const cases: [string, string, unknown, Record<string, string>, number, RegExp][] = [
    ['wrong shape', '/v2/models/mlp/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 15], data: new Array(15).fill(0) }] }, auth, 400, /input 'x' has shape \[1,15\], expected \[-1,16\]/],
    ['wrong dtype', '/v2/models/mlp/infer', { inputs: [{ name: 'x', datatype: 'INT64', shape: [1, 16], data: new Array(16).fill(0) }] }, auth, 400, /datatype INT64, expected FP32/],
    ['wrong input name', '/v2/models/mlp/infer', { inputs: [{ name: 'z', datatype: 'FP32', shape: [1, 16], data: new Array(16).fill(0) }] }, auth, 400, /unknown input 'z'; inputs: x/],
    ['count mismatch', '/v2/models/mlp/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 16], data: new Array(16).fill(0) }] }, auth, 400, /has 16 values, its shape needs 32/],
    ['non-number', '/v2/models/mlp/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 16], data: ['a', ...new Array(15).fill(0)] }] }, auth, 400, /value 0 is not a number/],
    ['unknown output', '/v2/models/mlp/infer', infer(x, { outputs: [{ name: 'h2' }] }), auth, 400, /unknown output 'h2'; outputs: y/],
    ['bad JSON', '/v2/models/mlp/infer', '{"inputs": [', auth, 400, /the body is not JSON/],
    ['no inputs', '/v2/models/mlp/infer', {}, auth, 400, /"inputs" must be a non-empty array/],
    ['binary size without header', '/v2/models/mlp/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 16], parameters: { binary_data_size: 64 } }] }, auth, 400, /no Inference-Header-Content-Length/],
    ['header longer than body', '/v2/models/mlp/infer', infer(x), { ...auth, 'inference-header-content-length': '99999' }, 400, /not a byte count within/],
    ['wrong model', '/v2/models/other/infer', infer(x), auth, 404, /Cannot find model 'other': this server serves 'mlp'/],
    ['versions', '/v2/models/mlp/versions/3/infer', infer(x), auth, 404, /does not version models/],
    ['no token', '/v2/models/mlp/infer', infer(x), {}, 401, /missing or wrong bearer token/],
    ['wrong token', '/v2/models/mlp', undefined, { authorization: 'Bearer nope' }, 401, /missing or wrong bearer token/],
    ['unknown route', '/v3/x', undefined, auth, 404, /no such endpoint/],
  ];
  for (const [label, url, body, headers, status, re] of cases) {
    const r = await call(body === undefined ? 'GET' : 'POST', url, body, headers);
    assert.equal(r.status, status, `${label}: ${JSON.stringify(r.json)}`);
    assert.deepEqual(Object.keys(r.json), ['error'], `${label}: the body is {"error": …}`);
    assert.match(r.json.error as string, re, label);
  }
  // NaN in binary FP32 data (JSON cannot spell it): refused by the runtime's check, per request.
  const nanHeader = utf8.encode(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 16], parameters: { binary_data_size: 64 } }] }));
  const nanBody = new Uint8Array(nanHeader.byteLength + 64);
  nanBody.set(nanHeader);
  nanBody.set(new Uint8Array(Float32Array.from({ length: 16 }, (_, i) => (i === 3 ? NaN : 0)).buffer), nanHeader.byteLength);
  // Sent together with good requests (they would share a batch): only the bad one is refused.
  const [nan, ...good] = await Promise.all([
    call('POST', '/v2/models/mlp/infer', nanBody, { ...auth, 'inference-header-content-length': String(nanHeader.byteLength) }),
    call('POST', '/v2/models/mlp/infer', infer(x)), call('POST', '/v2/models/mlp/infer', infer(x)),
  ]);
  assert.deepEqual(good.map((r) => r.status), [200, 200], 'a bad request does not fail its batch');
  assert.equal(nan.status, 400, JSON.stringify(nan.json));
  assert.match(nan.json.error as string, /input 'x' has NaN at index \[0,3\]/);
  const g = await call('GET', '/v2/models/mlp/infer');
  assert.equal(g.status, 405);
  assert.equal(g.res.headers.allow, 'POST');
  // A binary body whose trailing bytes belong to no input.
  const header = utf8.encode(JSON.stringify(infer(x)));
  const extra = new Uint8Array(header.byteLength + 4);
  extra.set(header);
  assert.equal((await call('POST', '/v2/models/mlp/infer', extra, { ...auth, 'inference-header-content-length': String(header.byteLength) })).status, 400);
  assert.equal(await forwards(), before + 1, 'no refused request reached the enclave (the one FORWARD is the two good requests)');
});

test('concurrent requests are batched into fewer FORWARDs; every sample counted once; outputs equal the unsplit model', async () => {
  const st0 = await server.sessions[0]!.status();
  const sizes = [1, 2, 3, 1, 1, 4, 2, 1, 1, 3, 2, 1, 1, 1, 2, 2, 5, 1, 1, 1];
  const xs = sizes.map((n, i) => mlpInput(n, 100 + i));
  const results = await Promise.all(xs.map((x) => call('POST', '/v2/models/mlp/infer', infer(x))));
  for (const [i, r] of results.entries()) {
    assert.equal(r.status, 200);
    const out = (r.json.outputs as { shape: number[]; data: number[] }[])[0]!;
    assert.ok(maxAbsDiff({ dtype: 'float32', dims: out.shape, data: Float32Array.from(out.data) }, await reference(fx.model, xs[i]!)) <= 1e-5, `request ${i}`);
  }
  const st = await server.sessions[0]!.status();
  const samples = sizes.reduce((a, b) => a + b, 0);
  assert.equal((st.sampleCount as number) - (st0.sampleCount as number), samples, 'the enclave counted each sample once');
  const f = (st.forwardCount as number) - (st0.forwardCount as number);
  assert.ok(f < sizes.length && f >= Math.ceil(samples / 8), `${f} FORWARDs for ${sizes.length} requests of ${samples} samples (max batch 8)`);
});

test('concatFeeds and splitOutputs are inverse along the first dimension', () => {
  const a = mlpInput(2, 7);
  const b = mlpInput(3, 8);
  const c = concatFeeds([{ x: a }, { x: b }]);
  assert.deepEqual(c.x!.dims, [5, 16]);
  const [pa, pb] = splitOutputs(c, [2, 3]);
  assert.deepEqual([pa!.x, pb!.x], [a, b]);
  assert.throws(() => splitOutputs(c, [2, 2]), /first dimension is 5, the batch has 4/);
});

test('the batcher: max batch respected, arrival order kept, a request queued too long times out unrun', async () => {
  const seen: number[] = [];
  let release!: () => void;
  let gate = new Promise<void>((r) => { release = r; });
  const runner = { run: async (f: Record<string, TensorData>) => { seen.push(f.x!.dims[0]!); await gate; return { y: f.x! }; } };
  const b = new Batcher([runner], { maxBatch: 4, maxWaitMs: 5, queueTimeoutMs: 150 });
  const one = (n: number): Promise<Record<string, TensorData>> => b.submit({ x: mlpInput(n, n) }, n);
  const first = one(1); // waits ≤ 5 ms alone, then runs (and blocks on the gate)
  await new Promise((r) => setTimeout(r, 30));
  const rest = [one(2), one(2), one(1), one(3)];
  release();
  const outs = await Promise.all([first, ...rest]);
  assert.deepEqual(outs.map((o) => o.y!.dims[0]), [1, 2, 2, 1, 3], 'each request gets its own rows back');
  assert.deepEqual(seen, [1, 4, 4], 'batches of ≤ 4 samples in arrival order');
  assert.deepEqual(b.stats, { forwards: 3, requests: 5, samples: 9 });

  gate = new Promise<void>((r) => { release = r; });
  const busy = one(4); // a full batch: runs at once and holds the only worker
  const late = one(1);
  const t0 = performance.now();
  await assert.rejects(late, /waited 150 ms in the queue without a free enclave/);
  assert.ok(performance.now() - t0 >= 140);
  release();
  await busy;
  await new Promise((r) => setTimeout(r, 30)); // the worker is free again: a request left queued would run now
  assert.deepEqual(seen, [1, 4, 4, 4], 'the timed-out request never ran');
  assert.deepEqual(b.stats, { forwards: 4, requests: 6, samples: 13 });
});

test('the batcher: a batch refused for want of credits is run request by request, so those that fit are answered', async () => {
  // A stand-in for the enclave's enforcer: admits a FORWARD whole or refuses it whole, counting samples.
  let credits = 5;
  let forwards = 0;
  const runner = {
    run: async (f: Record<string, TensorData>) => {
      forwards++;
      const n = f.x!.dims[0]!;
      if (n > credits) throw new EnclaveNnError('ENCLAVE_QUOTA', `quota exhausted (${n} requested, ${credits} left)`);
      credits -= n;
      return { y: f.x! };
    },
  };
  const b = new Batcher([runner], { maxBatch: 8, maxWaitMs: 10 });
  const results = await Promise.allSettled([2, 2, 2, 1].map((n) => b.submit({ x: mlpInput(n, n) }, n)));
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  assert.equal(credits, 0, 'the 5 credits went to the requests of 2, 2 and 1 samples');
  assert.equal(forwards, 5, 'the batch of 7, then each of the four alone');
  assert.deepEqual(b.stats, { forwards: 5, requests: 3, samples: 5 });
});

test('the batcher: a request one enclave of the pool refuses for want of credits goes to another', async () => {
  const credits = [1, 5];
  const ran: number[] = [];
  const runner = (i: number) => ({
    run: async (f: Record<string, TensorData>) => {
      const n = f.x!.dims[0]!;
      ran.push(i);
      if (n > credits[i]!) throw new EnclaveNnError('ENCLAVE_QUOTA', `quota exhausted on ${i}`);
      credits[i]! -= n;
      return { y: f.x! };
    },
  });
  const b = new Batcher([runner(0), runner(1)], { maxBatch: 1, maxWaitMs: 0 });
  const out = await b.submit({ x: mlpInput(3, 3) }, 3);
  assert.equal(out.y!.dims[0], 3);
  assert.deepEqual(credits, [1, 2]);
  assert.deepEqual(ran, [0, 1], 'enclave 0 refused, enclave 1 answered');
  await assert.rejects(b.submit({ x: mlpInput(3, 4) }, 3), /quota exhausted on/, 'refused by both: the client gets the refusal');
  assert.deepEqual(credits, [1, 2], 'refusals cost nothing');
  await b.submit({ x: mlpInput(1, 5) }, 1);
  assert.equal(credits[0]! + credits[1]!, 2);
});

test('the enclave dies: a request in flight gets 503 with the error body, the next one is answered by a restarted enclave', async () => {
  const session = server.sessions[0]!;
  const first = session.enclaveProcess!;
  // Freeze it, send the FORWARD, kill it: the request is in flight and cannot have been answered.
  const forward = first.forward.bind(first);
  first.forward = (f) => { first.kill('SIGSTOP'); const p = forward(f); first.kill('SIGKILL'); return p; };
  const x = mlpInput(1, 41);
  const dead = await call('POST', '/v2/models/mlp/infer', infer(x));
  assert.equal(dead.status, 503, JSON.stringify(dead.json));
  assert.match(dead.json.error as string, /Cannot use the enclave/);
  const again = await call('POST', '/v2/models/mlp/infer', infer(x));
  assert.equal(again.status, 200, JSON.stringify(again.json));
  const out = (again.json.outputs as { shape: number[]; data: number[] }[])[0]!;
  assert.ok(maxAbsDiff({ dtype: 'float32', dims: out.shape, data: Float32Array.from(out.data) }, await reference(fx.model, x)) <= 1e-5);
  assert.notEqual(session.enclaveProcess!.pid, first.pid);
});

test('the batcher: a chore for the second worker runs while the first is idle and the queue empty', async () => {
  const idle = { run: async (f: Record<string, TensorData>) => ({ y: f.x! }) };
  const b = new Batcher([idle, idle]);
  let ran = false;
  const chore = b.chore(1, async () => { ran = true; });
  const late = new Promise((r) => setTimeout(() => r('still waiting'), 1000));
  assert.equal(await Promise.race([chore.then(() => 'ran'), late]), 'ran');
  assert.ok(ran);
});
