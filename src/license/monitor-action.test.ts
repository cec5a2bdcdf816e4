/**
 * The model policy's answer to an extraction alarm (docs/license-protocol.md §5.2.1): `report`,
 * `throttle:N/h` and `stop`, against a real store — the embedded one always, PostgreSQL when
 * ENCLAVE_NN_TEST_PG is set — through the server's HTTP handler in-process. The alarm latches
 * per license only from a report the check-in accepts; the ledger stays exact throughout.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeProviderKeyFile } from '../bundle/provider-key.ts';
import { randomBytes } from '../crypto/index.ts';
import { runMain } from '../cli/cli.testkit.ts';
import type { LicenseEnforcer } from '../enclave/trusted/enforcer.ts';
import { isErrorCode } from '../errors.ts';
import type { MonitorVerdict } from '../license-format/types.ts';
import { freshPgliteDir } from './pglite.testkit.ts';
import type { ModelPolicy, SqlDb } from './store.ts';
import { openPgDb } from './store-pg.ts';
import { openPgliteDb } from './store-pglite.ts';
import { Fixture, TEST_ADMIN_TOKEN, testProviderKey } from './support.testkit.ts';

const ALARM: MonitorVerdict = { alarm: 1, alarmAt: 121, queries: 400, n: 371, w: 769853, minW: 133419 };
const QUIET: MonitorVerdict = { alarm: 0, alarmAt: 0, queries: 400, n: 390, w: 991811, minW: 990102 };
const HOUR = 3600;

type Enclave = LicenseEnforcer;
type Answer = { status: number; body: Record<string, unknown> };

const code = (r: Answer): string | undefined => (r.body.error as { code?: string } | undefined)?.code;

function suite(name: string, openDb: () => Promise<SqlDb>, skip: string | false): void {
  describe(name, { skip }, () => {
    let fx: Fixture;
    const tag = `${process.pid}-${Date.now()}`;
    before(async () => { fx = await Fixture.create(await openDb()); });
    after(async () => { await fx?.store.close(); });

    /** Uses `n` samples (all that are left when omitted) and checks in with `verdict`. */
    const checkIn = async (e: Enclave, verdict: MonitorVerdict, n = e.status().remaining): Promise<Answer> => {
      if (n) e.admit(n, fx.clock);
      const r = await fx.call('POST', '/v1/usage', { report: e.usageReport(fx.clock, verdict) });
      if (r.status === 200) e.applyGrant(r.body.grant as string);
      return r;
    };
    /** The ledger is exact: the grants sum to the license's allocation, within its credits. */
    const ledgerExact = async (licenseId: string): Promise<void> => {
      const l = (await fx.store.getLicense(licenseId))!;
      assert.equal(await fx.store.ledgerTotal(licenseId), l.creditsAllocated);
      assert.ok(l.creditsAllocated <= l.creditsTotal);
    };

    test('report: an alarm is an audit row and latches on the license; grants go on in full', async () => {
      const s = await fx.licensed(`report-${tag}`, { credits: 1000, maxInferences: 100, monitor: 'report' });
      const e = await fx.provision(s);
      let r = await checkIn(e, ALARM);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.granted, 100);
      const at = fx.clock;
      fx.clock += 10;
      r = await checkIn(e, QUIET);
      assert.equal(r.body.granted, 100, 'report does not throttle');
      assert.equal((await fx.store.getLicense(s.licenseId))!.monitorAlarmAt, at, 'latched at the first alarm, kept by a quiet report');
      const audit = (await fx.store.listAudit({ subject: s.licenseId })).filter((a) => a.code === 'EXTRACTION_ALARM');
      assert.equal(audit.length, 1);
      await ledgerExact(s.licenseId);
    });

    test('stop: the alarm report and every later check-in, challenge and provisioning are refused (LICENSE_STOPPED); usage is still recorded', async () => {
      const s = await fx.licensed(`stop-${tag}`, { credits: 1000, maxInferences: 100, monitor: 'stop' });
      const e = await fx.provision(s);
      let r = await checkIn(e, QUIET, 30);
      assert.equal(r.status, 200);
      assert.equal(r.body.granted, 30, 'no alarm, no stop');
      r = await checkIn(e, ALARM, 40);
      assert.equal(r.status, 403, JSON.stringify(r.body));
      assert.equal(code(r), 'LICENSE_STOPPED');
      assert.match((r.body.error as { message: string }).message, /extraction monitor alarmed at .* usage recorded \(70 samples\), no top-up/);
      fx.clock += 2 * HOUR;
      r = await checkIn(e, QUIET, 10);
      assert.equal(code(r), 'LICENSE_STOPPED', 'latched: a quiet report does not lift it');
      const c = await fx.call('POST', '/v1/challenge', { licenseId: s.licenseId });
      assert.equal(c.status, 403);
      assert.equal(code(c), 'LICENSE_STOPPED');
      // The ledger's own check, below the service's: no new enclave takes credits either.
      await assert.rejects(fx.store.provisionEnclave({ id: `stopped-${tag}`, licenseId: s.licenseId, keyPub: new Uint8Array(32), mrEnclave: '00', now: fx.clock }), (err) => isErrorCode(err, 'LICENSE_STOPPED'));
      const u = await fx.store.usage({ customerId: `cust-stop-${tag}` });
      assert.equal(u[0]!.used, 80, 'the refused reports recorded their usage');
      assert.equal(u[0]!.enclaves, 1);
      assert.equal(u[0]!.creditsGranted, 130);
      const audit = await fx.store.listAudit({ subject: s.licenseId });
      assert.equal(audit.filter((a) => a.code === 'EXTRACTION_ALARM').length, 1, 'the alarm is reported even though its top-up is refused');
      assert.equal(audit.filter((a) => a.code === 'LICENSE_STOPPED').length, 3);
      await ledgerExact(s.licenseId);
      // The other licenses of the model are not touched: the alarm is per license.
      const other = await fx.call('POST', '/v1/admin/licenses', { customerId: `cust-stop-${tag}`, modelId: s.modelId, credits: 50 });
      assert.equal((await fx.call('POST', '/v1/challenge', { licenseId: other.body.licenseId })).status, 200);
    });

    test('an alarm in a report the check-in refuses (a replayed sequence number) latches nothing', async () => {
      const s = await fx.licensed(`replay-${tag}`, { credits: 1000, maxInferences: 100, monitor: 'stop' });
      const e = await fx.provision(s);
      e.admit(5, fx.clock);
      const old = e.usageReport(fx.clock, ALARM); // seq 1
      const r = await checkIn(e, QUIET, 5); // seq 2, accepted
      assert.equal(r.status, 200);
      const replay = await fx.call('POST', '/v1/usage', { report: old });
      assert.equal(code(replay), 'USAGE_ROLLBACK');
      assert.equal((await fx.store.getLicense(s.licenseId))!.monitorAlarmAt, null);
      assert.equal((await checkIn(e, QUIET, 5)).status, 200, 'not stopped');
    });

    test('throttle:N/h: after the alarm no 3600 s window grants more than N — top-ups and provisioning alike; an hour later credits flow again', async () => {
      const N = 150;
      const s = await fx.licensed(`throttle-${tag}`, { credits: 100_000, maxInferences: 100, monitor: `throttle:${N}/h` });
      const a = await fx.provision(s);
      const b = await fx.provision(s);
      let r = await checkIn(a, QUIET);
      assert.equal(r.body.granted, 100, 'before the alarm: the offline grace in full');
      fx.clock += 5; // the grants so far are before the alarm's second
      const t0 = fx.clock;
      r = await checkIn(a, ALARM);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.granted, 100, 'the alarm report: min(grace 100, 150 left this hour)');
      fx.clock = t0 + 10;
      r = await checkIn(b, QUIET);
      assert.equal(r.body.granted, 50, 'another enclave of the license, a quiet report: throttled all the same');
      fx.clock = t0 + 20;
      r = await checkIn(a, QUIET);
      assert.equal(r.status, 200);
      assert.equal(r.body.granted, 0, 'the hour is spent: nothing, but no refusal');
      const c = await fx.provision(s);
      assert.equal(c.status().allowance, 0, 'a new enclave gets nothing either');
      const row = (await fx.store.listAudit({ subject: s.licenseId })).filter((x) => x.action === 'usage').at(-1)!;
      assert.match(row.reason, /throttled since the extraction alarm at \d+: 0 credits left this hour/);
      fx.clock = t0 + HOUR + 1; // the alarm report's 100 leave the window, b's 50 stay
      r = await checkIn(a, QUIET);
      assert.equal(r.body.granted, 100);
      fx.clock = t0 + HOUR + 11; // b's 50 leave too
      r = await checkIn(b, QUIET);
      assert.equal(r.body.granted, 50);
      // Every window of 3600 s after the alarm, checked on the ledger itself.
      const grants = await fx.store.db.query<{ credits: unknown; at: unknown }>('SELECT credits, at FROM grants WHERE license_id = $1 AND at >= $2 ORDER BY at', [s.licenseId, t0]);
      for (const g of grants) {
        const inWindow = grants.filter((h) => Number(h.at) > Number(g.at) - HOUR && Number(h.at) <= Number(g.at)).reduce((n, h) => n + Number(h.credits), 0);
        assert.ok(inWindow <= N, `${inWindow} credits granted in the hour up to ${Number(g.at)}`);
      }
      await ledgerExact(s.licenseId);
    });

    test('throttle:N/h in the batch path: concurrent check-ins of six enclaves travel in batches and get exactly N in all', async () => {
      const N = 25;
      const s = await fx.licensed(`batch-${tag}`, { credits: 100_000, maxInferences: 10, monitor: `throttle:${N}/h` });
      const es = await Promise.all(Array.from({ length: 6 }, () => fx.provision(s)));
      fx.clock += 5;
      // The alarm latches with a report that wants nothing (nothing used): the hour's N are untouched.
      const r0 = await checkIn(es[0]!, ALARM, 0);
      assert.equal(r0.body.granted, 0);
      const before = { ...fx.store.stats };
      const rs = await Promise.all(es.map((e) => checkIn(e, QUIET)));
      for (const r of rs) assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(rs.reduce((n, r) => n + (r.body.granted as number), 0), N);
      assert.equal(fx.store.stats.checkIns - before.checkIns, 6);
      assert.ok(fx.store.stats.batches - before.batches < 6, `batched: ${fx.store.stats.batches - before.batches} calls for 6 check-ins`);
      await ledgerExact(s.licenseId);
    });
  });
}

suite('monitor actions on PGlite (embedded)', async () => openPgliteDb(await freshPgliteDir()), false);
const url = process.env.ENCLAVE_NN_TEST_PG;
const PG_SKIP = url ? false : 'needs ENCLAVE_NN_TEST_PG=postgres://… (scripts/with-postgres.sh starts one)';
suite('monitor actions on PostgreSQL', () => openPgDb(url!), PG_SKIP);

test('throttle:N/h with two servers (two connection pools) on one PostgreSQL: concurrent check-ins of twelve enclaves get exactly N in all', { skip: PG_SKIP }, async () => {
  const masterKey = randomBytes(32);
  const a = await Fixture.create(await openPgDb(url!), { masterKey });
  const b = await Fixture.create(await openPgDb(url!), { masterKey, chain: a.chain });
  try {
    const N = 37;
    const s = await a.licensed(`two-servers-throttle-${process.pid}-${Date.now()}`, { credits: 100_000, maxInferences: 7, monitor: `throttle:${N}/h` });
    const servers = [a, b];
    const es = await Promise.all(Array.from({ length: 12 }, (_, i) => servers[i % 2]!.provision(s)));
    a.clock = b.clock = a.clock + 5;
    // The alarm latches with a report that wants nothing (nothing used yet).
    const r0 = await a.call('POST', '/v1/usage', { report: es[0]!.usageReport(a.clock, ALARM) });
    assert.equal(r0.body.granted, 0);
    es[0]!.applyGrant(r0.body.grant as string);
    let granted = 0;
    for (let round = 0; round < 3; round++) {
      const rs = await Promise.all(es.map((e, i) => {
        const left = e.status().remaining;
        if (left) e.admit(left, a.clock);
        return servers[(i + round) % 2]!.call('POST', '/v1/usage', { report: e.usageReport(a.clock, QUIET) });
      }));
      rs.forEach((r, i) => { assert.equal(r.status, 200, JSON.stringify(r.body)); granted += r.body.granted as number; es[i]!.applyGrant(r.body.grant as string); });
    }
    // 12 × 7 = 84 wanted per round, N = 37 allowed in the hour: exactly N, over both servers.
    assert.equal(granted, N);
    const l = (await b.store.getLicense(s.licenseId))!;
    assert.equal(await a.store.ledgerTotal(s.licenseId), l.creditsAllocated);
    assert.equal(l.creditsAllocated, 12 * 7 + N);
  } finally {
    await a.store.close();
    await b.store.close();
  }
});

test('admin models add --monitor: the policy reaches the server; a malformed value is one error line naming it (then the usage hint), exit 2, nothing registered', async () => {
  const fx = await Fixture.create(await openPgliteDb(await freshPgliteDir()));
  const { url: server } = await fx.server.listen(0);
  try {
    const dir = mkdtempSync(join(tmpdir(), 'enn-monitor-admin-'));
    const keyFile = (id: string): string => { const f = join(dir, `${id}.key`); writeFileSync(f, encodeProviderKeyFile(testProviderKey(id))); return f; };
    const admin = (...args: string[]): ReturnType<typeof runMain> => runMain(['admin', ...args, '--server', server, '--token', TEST_ADMIN_TOKEN, '--mrenclave', 'ab'.repeat(32)]);
    for (const bad of ['throttle:0/h', 'throttle:5', 'throttle:-1/h', 'throttle:1e3/h', 'halt', 'throttle:99999999999999999999/h']) {
      const r = await admin('models', 'add', keyFile('bad'), '--monitor', bad);
      assert.equal(r.code, 2, r.stderr);
      // One line names the error; the usage hint follows it, as for every bad usage.
      const [line, hint] = r.stderr.split('\n');
      assert.match(hint!, /^usage: enclave-nn admin/);
      assert.match(line!, new RegExp(`--monitor '${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' is not 'report', 'throttle:N/h'`));
    }
    assert.equal((await fx.store.listModels()).length, 0, 'nothing registered');
    const ok = await admin('models', 'add', keyFile('m-throttle'), '--monitor', 'throttle:500/h');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await fx.store.getModel('m-throttle'))!.policy.monitor, 'throttle:500/h');
    assert.equal((await admin('models', 'update', 'm-throttle', '--monitor', 'stop')).code, 0);
    assert.equal((await fx.store.getModel('m-throttle'))!.policy.monitor, 'stop');
    assert.match((await admin('models', 'list')).stdout, /m-throttle .*on extraction alarm: stop/);
    // A latched alarm shows in the license list (set here in the table; the check-ins that set it are tested above).
    await fx.call('POST', '/v1/admin/customers', { id: 'c-alarm' });
    const lic = await fx.call('POST', '/v1/admin/licenses', { customerId: 'c-alarm', modelId: 'm-throttle', credits: 10 });
    assert.doesNotMatch((await admin('licenses', 'list')).stdout, /EXTRACTION ALARM/);
    await fx.store.db.query('UPDATE licenses SET monitor_alarm_at = 1800000000 WHERE id = $1', [lic.body.licenseId]);
    assert.match((await admin('licenses', 'list')).stdout, new RegExp(`${lic.body.licenseId as string} .*EXTRACTION ALARM since 2027-01-15T08:00:00Z`));
    // The server checks a policy posted by any client, not only by this command.
    const raw = await fx.call('POST', '/v1/admin/models/m-throttle/policy', { policy: { ...(await fx.store.getModel('m-throttle'))!.policy, monitor: 'throttle:07/h' } satisfies ModelPolicy });
    assert.equal(raw.status, 400);
    assert.match((raw.body.error as { message: string }).message, /policy\.monitor must be/);
  } finally {
    await fx.server.close();
    await fx.store.close();
  }
});
