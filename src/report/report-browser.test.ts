/**
 * The bench report is a web page: it is checked in a real browser (headless Chromium from
 * Debian, driven by playwright-core), not only as text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReport } from './bench-report.ts';
import { fakeBenchReport, fakeSplit, NO_CHROMIUM, withPage } from './report.testkit.ts';
import { summarize } from './stats.ts';

test('the HTML report renders in Chromium: three plots with content, the table, no page errors', { skip: NO_CHROMIUM }, async () => {
  // --splits 1,2,3 (no k = 0), one split 200× the others: the log scale, every requested split in every plot.
  const splits = [1, 2, 3].map(fakeSplit);
  splits[2] = { ...splits[2]!, t_enclave: summarize([300, 330, 270]), t_enclave_compute: summarize([299, 329, 269]), tee_impact: 200 };
  const report = fakeBenchReport(splits, 'enclave-nn bench fake.onnx --splits 1,2,3');
  const out = join(mkdtempSync(join(tmpdir(), 'enn-report-')), 'report');
  const html = await writeReport(report, out);
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).tee, { platform: 'sim', insecure: true, label: 'sim — INSECURE, protects nothing' });
  await withPage(html, async (page, { errors, requests }) => {
    const figures = await page.$$eval('figure svg', (svgs) => svgs.map((s) => { const b = s.getBoundingClientRect(); return { w: b.width, h: b.height, rects: s.querySelectorAll('rect').length, paths: s.querySelectorAll('path').length }; }));
    assert.equal(figures.length, 3, 'three plots');
    for (const f of figures) assert.ok(f.w > 300 && f.h > 200, `plot drawn at a visible size: ${JSON.stringify(f)}`);
    assert.ok(figures[0]!.rects >= 3 * 3, 'stacked bars drawn');
    assert.ok(figures[2]!.paths >= 3, 'ratio lines drawn');
    assert.equal(await page.$$eval('tbody tr', (rows) => rows.length), 3, 'one table row per split');
    // Every legend entry and tick label lies inside its SVG's viewBox (nothing cut off).
    const outside = await page.$$eval('figure svg', (svgs) => svgs.flatMap((svg) => {
      const vb = (svg as SVGSVGElement).viewBox.baseVal;
      return Array.from(svg.querySelectorAll('.legend text, text.tick')).map((t) => ({ t: t.textContent, b: (t as SVGGraphicsElement).getBBox() }))
        .filter(({ b }) => b.x < 0 || b.y < 0 || b.x + b.width > vb.width || b.y + b.height > vb.height).map(({ t }) => t);
    }));
    assert.deepEqual(outside, [], 'legend and ticks inside the viewBox');
    // Every requested split is in each chart (the first one was dropped when --splits omitted 0).
    const labels = await page.$$eval('figure svg', (svgs) => svgs.map((s) => Array.from(s.querySelectorAll('text')).map((t) => t.textContent).filter((t) => /^k=\d/.test(t ?? ''))));
    for (const l of labels) assert.deepEqual(l, ['k=1', 'k=2', 'k=3']);
    // One split dwarfs the rest: the time and ratio plots switch to a log scale, ticks are round numbers.
    const ticks = await page.$$eval('#time-per-split text.tick', (ts) => ts.map((t) => t.textContent));
    assert.deepEqual(ticks, ['1', '10', '100', '1,000']);
    assert.match(await page.textContent('#time-per-split') ?? '', /\(log scale\)/);
    assert.equal(await page.$$eval('#time-per-split g.whisker', (w) => w.length), 3, 'p10–p90 whiskers');
    const platform = await page.$eval('#platform', (e) => ({ text: e.textContent, size: parseFloat(getComputedStyle(e).fontSize) }));
    assert.equal(platform.text, 'Platform: sim — INSECURE, protects nothing');
    assert.ok(platform.size >= 28, `the platform in large type: ${platform.size}px`);
    assert.equal(await page.textContent('#load'), '0.50 / 0.40 / 0.30 at the start, 1.25 / 0.50 / 0.35 at the end');
    const terms = await page.$$eval('#definitions dt', (d) => d.map((x) => x.textContent));
    for (const t of ['t_native', 'boundary', 'CPU impact', 'TEE impact']) assert.ok(terms.includes(t), `definition of ${t}`);
    assert.match(await page.textContent('body') ?? '', /project's performance goals[\s\S]*not a fault of your model/);
    const header = await page.$$eval('thead th', (t) => t.map((x) => x.textContent));
    for (const h of ['private params', 'private FLOPs', 'sealed tail']) assert.ok(header.includes(h), h);
    assert.deepEqual(errors, [], 'no page errors');
    assert.deepEqual(requests, [], 'self-contained: no request leaves the file');
    const png = await page.screenshot({ fullPage: true });
    assert.ok(png.length > 10_000, 'a screenshot with content');
    if (process.env.ENCLAVE_NN_SCREENSHOT_DIR) writeFileSync(join(process.env.ENCLAVE_NN_SCREENSHOT_DIR, 'bench-report.png'), png);
  });
});
