/** Runs every committed enclave protocol vector against the real trusted program (STYLE.md 2, 9). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { EnclaveProcess } from '../enclave/host.ts';
import { useTempEnclaveHome } from '../runtime/support.testkit.ts';
import { MSG } from './frame.ts';
import { decodeError } from './messages.ts';
import { PayloadReader } from './payload.ts';
import { buildVectors, decodeVector, encodeVector, type ProtocolVector } from './vectors.testkit.ts';

useTempEnclaveHome();
const dir = new URL('../../testdata/vectors/enclave-protocol/', import.meta.url);
const files = existsSync(dir) ? readdirSync(dir).filter((f) => !f.includes('.')).sort() : [];

async function run(v: ProtocolVector): Promise<void> {
  const e = await EnclaveProcess.start({ onStderr: () => undefined, hello: v.state === 'hello' });
  try {
    const answer = v.id === undefined ? undefined : e.expect(v.id);
    e.writeRaw(v.bytes);
    if (v.expect.kind === 'exit') e.endInput();
    if (answer) {
      const f = await answer;
      if (v.expect.kind === 'error') {
        assert.equal(f.type, MSG.ERROR, `${v.name}: an ERROR frame`);
        const body = decodeError(new PayloadReader(f.body));
        assert.equal(body.name, v.expect.name, `${v.name}: ${body.message}`);
        assert.equal(body.code, v.expect.code, `${v.name}: the wire code written in the vector file`);
      } else if (v.expect.kind === 'ok') {
        assert.equal(f.type, v.expect.type, v.name);
      }
    }
    if (v.then === 'exit') {
      assert.deepEqual(await e.exited(), { code: 0, signal: null }, `${v.name}: clean exit`);
    } else {
      assert.equal(typeof (await e.status()).state, 'string', `${v.name}: still answering`);
    }
  } finally {
    if (e.alive) await e.close();
  }
}

test('every committed protocol vector gets its defined answer from the enclave', async () => {
  assert.ok(files.length >= 25, `expected the committed vectors in ${dir.pathname}`);
  const vectors = files.map((f) => decodeVector(f, new Uint8Array(readFileSync(new URL(f, dir)))));
  for (let i = 0; i < vectors.length; i += 4) await Promise.all(vectors.slice(i, i + 4).map(run));
});

test('the committed vectors are exactly what the generator builds', () => {
  const built = buildVectors();
  assert.deepEqual(built.map((v) => v.name).sort(), files);
  for (const v of built) {
    assert.ok(Buffer.from(encodeVector(v)).equals(readFileSync(new URL(v.name, dir))), `${v.name} differs; run npx tsx src/enclave-protocol/vectors.testkit.ts --write`);
  }
});
