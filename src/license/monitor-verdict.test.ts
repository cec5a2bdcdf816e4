/**
 * The extraction monitor's verdict in usage reports (docs/license-protocol.md §5.2.1), in-process
 * against the embedded store: a version-2 report is verified and accepted; an alarm becomes an
 * audit row; a verdict changed after signing is refused (USAGE_INVALID) and changes nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { MonitorVerdict } from '../license-format/types.ts';
import { freshPgliteDir } from './pglite.testkit.ts';
import { openPgliteDb } from './store-pglite.ts';
import { Fixture } from './support.testkit.ts';

let fx: Fixture;
before(async () => { fx = await Fixture.create(await openPgliteDb(await freshPgliteDir())); });
after(async () => { await fx.store.close(); });

const ALARM: MonitorVerdict = { alarm: 1, alarmAt: 121, queries: 1000, n: 971, w: 769853, minW: 133419 };
const QUIET: MonitorVerdict = { alarm: 0, alarmAt: 0, queries: 1000, n: 990, w: 991811, minW: 990102 };

/** Re-encodes a token's body with `edit` applied, keeping the original signature. */
function tampered(token: string, edit: (v: Record<string, unknown>) => void): string {
  const [body, sig] = token.split('.');
  const v = JSON.parse(Buffer.from(body!, 'base64url').toString('utf8')) as Record<string, unknown>;
  edit(v);
  const sorted = (o: unknown): unknown => (o && typeof o === 'object' && !Array.isArray(o) ? Object.fromEntries(Object.keys(o).sort().map((k) => [k, sorted((o as Record<string, unknown>)[k])])) : o);
  return `${Buffer.from(JSON.stringify(sorted(v))).toString('base64url')}.${sig!}`;
}

test('a version-2 usage report carries the signed verdict; the server verifies it, and an alarm is an audit row', async () => {
  const s = await fx.licensed('verdict', { credits: 300, maxInferences: 100 });
  const e = await fx.provision(s);
  e.admit(10, fx.clock);
  const quiet = e.usageReport(fx.clock, QUIET);
  assert.equal(JSON.parse(Buffer.from(quiet.split('.')[0]!, 'base64url').toString()).version, 2);
  let u = await fx.call('POST', '/v1/usage', { report: quiet });
  assert.equal(u.status, 200, JSON.stringify(u.body));
  e.applyGrant(u.body.grant as string);
  let audit = (await fx.call('GET', `/v1/admin/audit?subject=${s.licenseId}`)).body.audit as { code: string; reason: string }[];
  assert.equal(audit.filter((a) => a.code === 'EXTRACTION_ALARM').length, 0, 'no alarm, no alarm row');

  u = await fx.call('POST', '/v1/usage', { report: e.usageReport(fx.clock, ALARM) });
  assert.equal(u.status, 200, JSON.stringify(u.body));
  audit = (await fx.call('GET', `/v1/admin/audit?subject=${s.licenseId}`)).body.audit as { code: string; reason: string }[];
  const rows = audit.filter((a) => a.code === 'EXTRACTION_ALARM');
  assert.equal(rows.length, 1);
  assert.match(rows[0]!.reason, /extraction alarm since query 121 of 1000 \(Shapiro–Wilk W 0\.7699 over 971 distances, lowest 0\.1334\)/);
});

test('a verdict changed after signing (alarm cleared, W raised) is refused as USAGE_INVALID and records nothing', async () => {
  const s = await fx.licensed('verdict-tampered', { credits: 300, maxInferences: 100 });
  const e = await fx.provision(s);
  e.admit(5, fx.clock);
  const genuine = e.usageReport(fx.clock, ALARM);
  for (const edit of [
    (v: Record<string, unknown>) => { v.monitor = { ...QUIET }; },
    (v: Record<string, unknown>) => { delete v.monitor; v.version = 1; },
    (v: Record<string, unknown>) => { (v.monitor as Record<string, number>).minW = 999999; },
  ]) {
    const r = await fx.call('POST', '/v1/usage', { report: tampered(genuine, edit) });
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal((r.body.error as { code: string }).code, 'USAGE_INVALID');
  }
  const malformed = await fx.call('POST', '/v1/usage', { report: tampered(genuine, (v) => { (v.monitor as Record<string, number>).alarm = 2; }) });
  assert.equal((malformed.body.error as { code: string }).code, 'USAGE_INVALID');
  assert.equal((await fx.call('POST', '/v1/usage', { report: genuine })).status, 200, 'the genuine report is accepted');
  assert.throws(() => e.usageReport(fx.clock, { ...ALARM, alarmAt: 0 }), RangeError, 'an enclave cannot sign an inconsistent verdict');
});
