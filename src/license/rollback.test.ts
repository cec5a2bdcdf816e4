/**
 * Issue 11 item 1: a host that restores an old sealed license state and replays every grant the
 * server ever sent (recorded by a proxy) gets at most `offline.maxInferences` extra samples per
 * restore (docs/threat-model.md §5.4), because a grant answers one fresh report nonce, once
 * (docs/license-protocol.md §5.4).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isErrorCode } from '../errors.ts';
import { LicenseEnforcer } from '../enclave/trusted/enforcer.ts';
import { freshPgliteDir } from './pglite.testkit.ts';
import { openPgliteDb } from './store-pglite.ts';
import { Fixture } from './support.testkit.ts';

let fx: Fixture;
before(async () => { fx = await Fixture.create(await openPgliteDb(await freshPgliteDir())); });
after(async () => { await fx.store.close(); });

/** Admits one sample at a time until the enclave refuses (`LICENSE_QUOTA`); returns how many ran. */
function drain(e: LicenseEnforcer): number {
  let n = 0;
  for (;;) {
    try { e.admit(1, fx.clock); n++; } catch (err) {
      assert.ok(isErrorCode(err, 'LICENSE_QUOTA'), String(err));
      return n;
    }
  }
}

test('grant replay after a state rollback: every recorded grant is refused; extra samples per restore ≤ maxInferences (100 of 300 credits)', async () => {
  const MAX = 100;
  const s = await fx.licensed(`rollback-${process.pid}`, { credits: 300, maxInferences: MAX });
  const enforcer = await fx.provision(s);
  const open = (state: Uint8Array) => LicenseEnforcer.fromState(state, { modelId: s.modelId, providerKey: s.key.signingPublicKey, now: fx.clock });
  // The host keeps every state the enclave ever sealed (as checkIn does: after provisioning,
  // after each report, after each grant) and a proxy records every grant the server sent.
  const sealed: Uint8Array[] = [enforcer.exportState()];
  const grants: string[] = [];
  let honest = drain(enforcer);
  for (;;) {
    const u = await fx.call('POST', '/v1/usage', { report: enforcer.usageReport(fx.clock) });
    assert.equal(u.status, 200, JSON.stringify(u.body));
    sealed.push(enforcer.exportState());
    grants.push(u.body.grant as string);
    enforcer.applyGrant(u.body.grant as string);
    sealed.push(enforcer.exportState());
    if (u.body.granted === 0) break;
    honest += drain(enforcer);
  }
  assert.equal(honest, 300, 'the honest life runs exactly the credits bought');

  // Offline attack: restore each sealed state in turn; the host then asks for reports (never
  // sent anywhere) and offers every recorded grant after each, running whatever is admitted.
  let worst = 0;
  for (const state of sealed) {
    const e = open(state);
    let extra = drain(e);
    for (let round = 0; round <= grants.length; round++) {
      let accepted = false;
      for (const g of [...grants]) {
        try { e.applyGrant(g); accepted = true; } catch (err) { assert.ok(isErrorCode(err, 'GRANT_INVALID'), String(err)); }
        extra += drain(e);
      }
      if (!accepted) e.usageReport(fx.clock);
    }
    worst = Math.max(worst, extra);
  }
  assert.ok(worst <= MAX, `a restore gave ${worst} extra samples; the bound is offline.maxInferences = ${MAX}`);
  assert.equal(worst, MAX, 'the bound is reached (the state right after provisioning holds a full grace)');
  // Right after provisioning no report is outstanding: not one recorded grant is accepted.
  const fresh = open(sealed[0]!);
  drain(fresh);
  fresh.usageReport(fx.clock);
  for (const g of grants) assert.throws(() => fresh.applyGrant(g), (err) => isErrorCode(err, 'GRANT_INVALID'));
});
