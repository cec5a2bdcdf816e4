/**
 * Issue 13 item 7: `inspect --html|--svg` draws the layer graph with the cut for each k and the
 * enclave's part shaded — checked in headless Chromium.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeModel } from '../../onnx/codec.ts';
import { cnnModel, residualModel } from '../../onnx/models.testkit.ts';
import { NO_CHROMIUM, withPage } from '../../report/report.testkit.ts';
import { runMain } from '../cli.testkit.ts';

const dir = mkdtempSync(join(tmpdir(), 'enn-inspect-picture-'));

test('inspect --html: one box per layer and input, a cut line per k, the last k layers shaded; another k shades on request (Chromium)', { skip: NO_CHROMIUM }, async () => {
  // The residual block: a DAG whose cut inside the block carries two tensors.
  writeFileSync(join(dir, 'res.onnx'), encodeModel(residualModel()));
  const html = join(dir, 'res.html');
  const r = await runMain(['inspect', join(dir, 'res.onnx'), '--html', html, '--private', '2']);
  assert.equal(r.code, 0, r.stderr);
  const layers = r.stdout.split('\n').filter((l) => /^\d+ {2}/.test(l)).length;
  assert.ok(layers >= 4, r.stdout);
  await withPage(html, async (page, { errors, requests }) => {
    assert.equal(await page.$$eval('svg .node', (n) => n.length), layers + 1, 'every layer and the input');
    assert.deepEqual(await page.$$eval('svg .cut', (c) => c.map((x) => (x as SVGElement).dataset.k)), Array.from({ length: layers }, (_, i) => String(i + 1)), 'a cut line for each k');
    const shaded = () => page.$$eval('svg .node.private', (n) => n.map((x) => (x as SVGElement).dataset.layer));
    assert.deepEqual(await shaded(), [String(layers - 2), String(layers - 1)], 'the last 2 layers are the enclave\'s part');
    // The cut for k=3 lies inside the residual block: it crosses two edges (two cut tensors).
    assert.match(await page.textContent('svg .cut[data-k="3"] title') ?? '', /cut for --private 3: \S+, \S+$/);
    await page.selectOption('#k', '3');
    assert.deepEqual(await shaded(), [String(layers - 3), String(layers - 2), String(layers - 1)]);
    assert.equal(await page.$eval('svg .cut.selected', (c) => (c as SVGElement).dataset.k), '3');
    const fill = await page.$eval(`svg .node[data-layer="${layers - 3}"] rect`, (e) => getComputedStyle(e).fill);
    assert.equal(fill, 'rgb(253, 226, 225)', 'shaded');
    // Nothing drawn outside the picture.
    const outside = await page.$eval('svg.cut-picture', (svg) => {
      const vb = (svg as SVGSVGElement).viewBox.baseVal;
      return Array.from(svg.querySelectorAll('rect, text, path')).map((e) => ({ e: e.textContent ?? e.tagName, b: (e as SVGGraphicsElement).getBBox() }))
        .filter(({ b }) => b.x < 0 || b.y < 0 || b.x + b.width > vb.width + 0.5 || b.y + b.height > vb.height + 0.5).map(({ e }) => e);
    });
    assert.deepEqual(outside, []);
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, []);
    const png = await page.screenshot({ fullPage: true });
    if (process.env.ENCLAVE_NN_SCREENSHOT_DIR) writeFileSync(join(process.env.ENCLAVE_NN_SCREENSHOT_DIR, 'inspect-residual.png'), png);
  });
});

test('inspect --svg writes the picture alone (a sequential CNN: one horizontal cut per k), --private out of range is refused', async () => {
  writeFileSync(join(dir, 'cnn.onnx'), encodeModel(cnnModel()));
  const svg = join(dir, 'cnn.svg');
  const r = await runMain(['inspect', join(dir, 'cnn.onnx'), '--svg', svg]);
  assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(svg, 'utf8');
  assert.match(text, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" class="cut-picture"/);
  const cuts = [...text.matchAll(/<g class="cut[^"]*" data-k="(\d+)"><path d="([^"]+)"/g)];
  assert.ok(cuts.length >= 4);
  for (const [, k, d] of cuts) {
    const ys = [...d!.matchAll(/[ML][\d.]+,([\d.]+)/g)].map((m) => m[1]);
    assert.equal(new Set(ys).size, 1, `k=${k}: a sequential model's cut is one horizontal line`);
  }
  assert.equal([...text.matchAll(/class="node private"/g)].length, 1, 'default: --private 1 shaded');
  const bad = await runMain(['inspect', join(dir, 'cnn.onnx'), '--svg', join(dir, 'x.svg'), '--private', '99']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--private 99 is out of range; valid: 1\.\.\d+/);
});
