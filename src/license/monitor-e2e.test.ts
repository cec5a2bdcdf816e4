/**
 * The extraction monitor end to end, through the real trusted program (sim platform) and a
 * license server on loopback (docs/license-protocol.md §5.2.1, §6.1): a PRADA-style attack
 * stream — a few seed inputs, then ±λ steps around every point, as Jacobian-based augmentation
 * makes them — trips the enclave's monitor; its signed usage report carries the alarm; under the
 * model's `stop` action that check-in, a new challenge and so a new provisioning are refused.
 * An honest stream under another license of the same model raises no alarm and is topped up.
 * And the sealed state file holds none of the monitor's state in the clear: no query vector, no
 * distance (the monitor is replayed in-process over the same cut tensors to know those bytes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateInsecureSimChain } from '../attest/sim.ts';
import { sha256 } from '../crypto/index.ts';
import { decodeStr, PayloadReader } from '../enclave-protocol/index.ts';
import type { EnclaveProcess } from '../enclave/host.ts';
import { LICENSE_MSG } from '../enclave/trusted/enclave-license.ts';
import { ExtractionMonitor } from '../enclave/trusted/monitor.ts';
import { trustedProgramPath } from '../enclave/trusted-program.ts';
import { isErrorCode } from '../errors.ts';
import type { MonitorVerdict } from '../license-format/types.ts';
import { runOnnx, type TensorData } from '../onnx/ort.ts';
import { mlpModel, seededRandom } from '../onnx/models.testkit.ts';
import { Session } from '../runtime/session.ts';
import { bundleOfSplit, everySplit, useTempEnclaveHome } from '../runtime/support.testkit.ts';
import { enclaveNnHome } from '../util/home.ts';
import { LicenseClient, licenseServerKeyProvider, saveLicenseState } from './client.ts';
import { freshPgliteDir } from './pglite.testkit.ts';
import { openPgliteDb } from './store-pglite.ts';
import { Fixture } from './support.testkit.ts';

useTempEnclaveHome();
const quiet = { onStderr: () => undefined };
const QUERIES = 800;
const BATCH = 20;
const DIM = 16; // the MLP's input

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Independent queries: what an honest user's inputs look like to the monitor. */
function honestRows(n: number, seed: number): Float32Array[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: DIM }, () => gaussian(rand)));
}

/** Papernot-style synthetic queries: 10 seeds, then each round every point again, moved ±λ in every coordinate. */
function attackRows(n: number, seed: number, lambda = 0.05): Float32Array[] {
  const rand = seededRandom(seed);
  const out = honestRows(10, seed + 1);
  while (out.length < n) for (const p of out.slice(0, n - out.length)) out.push(p.map((v) => v + (rand() < 0.5 ? -lambda : lambda)));
  return out;
}

const batches = (rows: Float32Array[]): Record<string, TensorData>[] => {
  const out: Record<string, TensorData>[] = [];
  for (let i = 0; i < rows.length; i += BATCH) {
    const part = rows.slice(i, i + BATCH);
    const data = new Float32Array(part.length * DIM);
    part.forEach((r, k) => data.set(r, k * DIM));
    out.push({ x: { dtype: 'float32', dims: [part.length, DIM], data } });
  }
  return out;
};

const reportOf = async (e: EnclaveProcess): Promise<string> => decodeStr(new PayloadReader((await e.call(LICENSE_MSG.USAGE_REPORT, [])).body));
const verdictOf = (report: string): MonitorVerdict => (JSON.parse(Buffer.from(report.split('.')[0]!, 'base64url').toString('utf8')) as { monitor: MonitorVerdict }).monitor;

/** Every 16-byte window of `b`, as latin1 strings (a set to look chunks up in). */
function windows16(b: Uint8Array): Set<string> {
  const s = Buffer.from(b).toString('latin1');
  const out = new Set<string>();
  for (let i = 0; i + 16 <= s.length; i++) out.add(s.slice(i, i + 16));
  return out;
}
const f32be = (xs: ArrayLike<number>): Buffer => { const b = Buffer.alloc(4 * xs.length); for (let i = 0; i < xs.length; i++) b.writeFloatBE(xs[i]!, 4 * i); return b; };

test('real enclave: an attack stream trips the monitor and, under the policy stop, is refused (LICENSE_STOPPED); an honest stream is topped up; the sealed state file holds no monitor state in the clear', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enn-monitor-e2e-'));
  const { splits } = await everySplit(mlpModel());
  const split = splits[1]!;
  const { bytes, providerKey } = bundleOfSplit(split);
  const measurement = Buffer.from(sha256(readFileSync(await trustedProgramPath()))).toString('hex');
  const fx = await Fixture.create(await openPgliteDb(await freshPgliteDir()), { chain: loadOrCreateInsecureSimChain(join(enclaveNnHome(), 'insecure-sim')) });
  fx.clock = Math.floor(Date.now() / 1000); // the real enclave checks the license window on the real clock
  const { url } = await fx.server.listen(0);
  try {
    const id = `mon-e2e-${process.pid}`;
    const s = await fx.licensed(id, { credits: 5000, maxInferences: 2000, key: providerKey, mrEnclave: measurement, monitor: 'stop' });
    const honestLicense = (await fx.call('POST', '/v1/admin/licenses', { customerId: `cust-${id}`, modelId: s.modelId, credits: 5000, offline: { maxInferences: 2000 } })).body.licenseId as string;

    // An honest user: independent inputs, no alarm, topped up.
    let session = await Session.create({ bundle: bytes, keySource: licenseServerKeyProvider({ server: url, licenseId: honestLicense }), enclave: quiet });
    try {
      for (const feeds of batches(honestRows(QUERIES, 11))) await session.run(feeds);
      const report = await reportOf(session.enclaveProcess!);
      const v = verdictOf(report);
      assert.equal(v.queries, QUERIES);
      assert.ok(v.n > 100, `a test ran (n ${v.n})`);
      assert.equal(v.alarm, 0, `honest stream: W ${v.w / 1e6}, lowest ${v.minW / 1e6}`);
      assert.ok((await new LicenseClient(url).usage(report)).granted > 0);
    } finally {
      await session.close();
    }

    // The attacker: synthetic queries around a few seeds.
    const stateFile = join(dir, 'model.enn.license');
    const attack = batches(attackRows(QUERIES, 21));
    session = await Session.create({ bundle: bytes, keySource: licenseServerKeyProvider({ server: url, licenseId: s.licenseId, stateFile }), enclave: quiet });
    let report: string;
    try {
      for (const feeds of attack) await session.run(feeds);
      report = await reportOf(session.enclaveProcess!);
      await saveLicenseState(session.enclaveProcess!, stateFile);
    } finally {
      await session.close();
    }
    const v = verdictOf(report);
    assert.equal(v.alarm, 1, `attack stream: W ${v.w / 1e6}, lowest ${v.minW / 1e6}`);
    assert.ok(v.alarmAt > 100 && v.alarmAt <= QUERIES, `alarm at query ${v.alarmAt}`);
    await assert.rejects(new LicenseClient(url).usage(report), (e) => isErrorCode(e, 'LICENSE_STOPPED') && /extraction monitor alarmed/.test((e as Error).message));
    assert.notEqual((await fx.store.getLicense(s.licenseId))!.monitorAlarmAt, null, 'latched on the license');
    // A fresh enclave (no state file) cannot start over on the stopped license: its challenge is refused.
    await assert.rejects(Session.create({ bundle: bytes, keySource: licenseServerKeyProvider({ server: url, licenseId: s.licenseId }), enclave: quiet }), (e) => isErrorCode(e, 'LICENSE_STOPPED'));
    // The honest license of the same model is not stopped.
    assert.equal((await fx.call('POST', '/v1/challenge', { licenseId: honestLicense })).status, 200);

    // The sealed file: replay the monitor in-process over the very cut tensors the enclave saw.
    const m = new ExtractionMonitor();
    const cutRowsLE: Buffer[] = [];
    const cutRowsBE: Buffer[] = [];
    for (const feeds of attack) {
      const cut = await runOnnx(split.head!, feeds);
      m.observe(cut, await runOnnx(split.tail, cut));
      for (const t of Object.values(cut)) {
        const width = t.data.length / t.dims[0]!;
        for (let r = 0; r < t.dims[0]!; r++) {
          const row = (t.data as Float32Array).subarray(r * width, (r + 1) * width);
          // The first 4 consecutive non-zero numbers of the row (ReLU zeros are common to all rows).
          const at = row.findIndex((_, i) => i + 4 <= row.length && row.subarray(i, i + 4).every((x) => x !== 0));
          if (at < 0) continue;
          cutRowsLE.push(Buffer.from(row.buffer, row.byteOffset + 4 * at, 16));
          cutRowsBE.push(f32be(row.subarray(at, at + 4)));
        }
      }
    }
    assert.deepEqual(m.verdict(), v, 'the replayed monitor is the enclave\'s');
    const plain = m.exportState();
    const plainWindows = windows16(plain);
    assert.ok(cutRowsBE.filter((b) => plainWindows.has(b.toString('latin1'))).length >= 10, 'the monitor\'s plaintext state holds query vectors (so the search below can find them)');
    const file = readFileSync(stateFile);
    const inFile = windows16(file);
    for (const b of [...cutRowsLE, ...cutRowsBE]) assert.ok(!inFile.has(b.toString('latin1')), 'a query vector is in the state file in the clear');
    // Every 16-byte piece of the plaintext state (query vectors, distances, counters) that is not mostly zeros.
    let pieces = 0;
    for (let o = 0; o + 16 <= plain.length; o += 16) {
      const piece = plain.subarray(o, o + 16);
      if (piece.filter((x) => x !== 0).length < 8) continue;
      pieces++;
      assert.ok(!inFile.has(Buffer.from(piece).toString('latin1')), `monitor state bytes ${o}…${o + 15} are in the state file in the clear`);
    }
    assert.ok(pieces > 100, `${pieces} pieces checked`);
  } finally {
    await fx.server.close().catch(() => undefined);
    await fx.store.close();
  }
});
