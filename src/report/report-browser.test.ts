/**
 * The bench report is a web page: it is checked in a real browser (headless Chromium from
 * Debian, driven by playwright-core), not only as text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeReport } from './bench-report.ts';
import { summarize } from './stats.ts';
import { evaluateTargets } from '../bench/targets.ts';
import type { BenchReport, SplitMeasurement } from './types.ts';

const CHROMIUM = '/usr/bin/chromium';

function fakeSplit(k: number): SplitMeasurement {
  const t = (ms: number) => summarize([ms, ms * 1.1, ms * 0.9]);
  return {
    k, firstPrivateLayer: k ? `layer${k}` : null, cutTensors: k ? [`t${k}`] : [], t_head: t(1 + k), t_native: t(k ? 0.5 * k : 0), t_tail_public: t(k ? 0.5 * k : 0),
    t_enclave: t(k ? 0.5 * k + 0.2 : 0), t_enclave_compute: t(k ? 0.5 * k : 0), t_boundary: t(k ? 0.2 : 0),
    setup: { spawn: 40, attest_provision: 10, load_decrypt: 5, session_create: 30, ready_total: 85, teardown: 3 },
    enclave_peak_rss_bytes: 80 * 2 ** 20, tail_weight_bytes: 1000 * k, largest_activation_bytes: 4000, sealed_tail_bytes: 65536, max_abs_diff: 0, labels_equal: true,
    cpu_impact: 1, tee_impact: k ? (0.5 * k + 0.2) / (0.5 * k) : NaN, end_to_end: 1.1,
  };
}

test('the HTML report renders in Chromium: three plots with content, the table, no page errors', { skip: !existsSync(CHROMIUM) && `needs ${CHROMIUM} (apt-get install chromium; .ci/run installs it)` }, async () => {
  const splits = [0, 1, 2, 3].map(fakeSplit);
  const report: BenchReport = {
    model: 'fake.onnx', command: 'enclave-nn bench fake.onnx', startedAt: new Date().toISOString(), durationMs: 1234,
    machine: { cpus: 'cpu', cores: 2, memoryBytes: 2 ** 34, platform: 'linux', node: process.version }, versions: { node: process.versions.node },
    options: { batch: 1, repeat: 3, warmup: 1, engine: 'ort', splits: [0, 1, 2, 3] }, layers: ['layer3', 'layer2', 'layer1'],
    t_full: summarize([4, 4.2, 3.9]), splits, targets: evaluateTargets(splits, 4, 1, 'ort'),
  };
  const out = join(mkdtempSync(join(tmpdir(), 'enn-report-')), 'report');
  const html = await writeReport(report, out);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    const requests: string[] = [];
    page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
    await page.goto(pathToFileURL(html).href);
    const figures = await page.$$eval('figure svg', (svgs) => svgs.map((s) => { const b = s.getBoundingClientRect(); return { w: b.width, h: b.height, rects: s.querySelectorAll('rect').length, paths: s.querySelectorAll('path').length }; }));
    assert.equal(figures.length, 3, 'three plots');
    for (const f of figures) assert.ok(f.w > 300 && f.h > 200, `plot drawn at a visible size: ${JSON.stringify(f)}`);
    assert.ok(figures[0]!.rects >= 3 * 4, 'stacked bars drawn');
    assert.ok(figures[2]!.paths >= 3, 'ratio lines drawn');
    assert.equal(await page.$$eval('tbody tr', (rows) => rows.length), 4, 'one table row per split');
    assert.match(await page.textContent('body') ?? '', /MISSED|met/);
    assert.deepEqual(errors, [], 'no page errors');
    assert.deepEqual(requests, [], 'self-contained: no request leaves the file');
    const png = await page.screenshot({ fullPage: true });
    assert.ok(png.length > 10_000, 'a screenshot with content');
  } finally {
    await browser.close();
  }
});
