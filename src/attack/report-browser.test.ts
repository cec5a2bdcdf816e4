/**
 * The attack report in a real browser: titled as the attack report, its result (the
 * recommendation) before the bench's cost figures, the platform in large type.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeBenchReport, fakeSplit, NO_CHROMIUM, withPage } from '../report/report.testkit.ts';
import { writeAttackReport } from './report.ts';
import type { ProtectionReport } from './types.ts';

test('the attack report is titled as such and shows its result first (Chromium)', { skip: NO_CHROMIUM }, async () => {
  const bench = fakeBenchReport([0, 1, 2].map(fakeSplit), 'enclave-nn attack fake.onnx');
  const row = (k: number, acc: number) => ({ attacker: 'generic' as const, queries: 500, substitute: 'dense', epochs: 3, trainSeconds: 1, substituteAccuracy: acc, fidelity: acc, ratio: acc / 0.9 });
  const r: ProtectionReport = {
    model: '/x/fake.onnx', command: 'enclave-nn attack fake.onnx', startedAt: new Date().toISOString(), durationMs: 5000, cpuSeconds: 4,
    options: { queries: [500], mode: 'label', seed: 1, trainPasses: 1000, attackers: ['generic'], dataRows: 1000, testRows: 200 }, classes: 10,
    splits: [
      { k: 0, firstPrivateLayer: null, cut: [], victimAccuracy: 0.9, rows: [], stolenAccuracy: 0.9 },
      { k: 1, firstPrivateLayer: 'layer1', cut: ['t1 float32[N,4]'], victimAccuracy: 0.9, rows: [row(1, 0.7)], stolenAccuracy: 0.7, teeImpact: 1.4 },
      { k: 2, firstPrivateLayer: 'layer2', cut: ['t2 float32[N,4]'], victimAccuracy: 0.9, rows: [row(2, 0.3)], stolenAccuracy: 0.3, teeImpact: 1.2 },
    ],
    recommendation: { k: 2, maxStolenAccuracy: 0.5, rule: 'the fewest private layers under the target' },
  };
  const html = await writeAttackReport(r, bench, join(mkdtempSync(join(tmpdir(), 'enn-attack-report-')), 'report'));
  await withPage(html, async (page, { errors }) => {
    assert.equal(await page.title(), 'enclave-nn attack: fake.onnx');
    assert.equal(await page.textContent('h1'), 'enclave-nn attack: fake.onnx');
    const order = await page.$$eval('h2, #platform, #attack-result', (els) => els.map((e) => e.id || e.textContent));
    assert.deepEqual(order.slice(0, 3), ['platform', 'Protection against model stealing: the result', 'attack-result'], 'platform, then the result, first');
    assert.ok(order.indexOf('attack-result') < order.indexOf("The project's performance goals"), 'the result before the bench figures');
    assert.match(await page.textContent('#attack-result') ?? '', /Recommended split: k = 2/);
    assert.deepEqual(errors, []);
    const png = await page.screenshot({ fullPage: true });
    if (process.env.ENCLAVE_NN_SCREENSHOT_DIR) writeFileSync(join(process.env.ENCLAVE_NN_SCREENSHOT_DIR, 'attack-report.png'), png);
  });
});
