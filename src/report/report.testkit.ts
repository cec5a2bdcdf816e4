/**
 * Test helpers for the reports: a made-up bench report (no measuring) and a headless Chromium
 * page to check the HTML in a real browser. Not part of the library.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { teeOf } from './bench-report.ts';
import { summarize } from './stats.ts';
import { evaluateTargets } from '../bench/targets.ts';
import type { BenchReport, SplitMeasurement } from './types.ts';

/** Debian's Chromium; tests that need it skip with this reason when it is absent. */
export const CHROMIUM = '/usr/bin/chromium';
export const NO_CHROMIUM = !existsSync(CHROMIUM) && `needs ${CHROMIUM} (apt-get install chromium; .ci/run installs it)`;

/** A plausible split k (times grow with k). */
export function fakeSplit(k: number): SplitMeasurement {
  const t = (ms: number) => summarize([ms, ms * 1.1, ms * 0.9]);
  return {
    k, firstPrivateLayer: k ? `layer${k}` : null, cutTensors: k ? [`t${k}`] : [], t_head: t(1 + k), t_native: t(k ? 0.5 * k : 0), t_tail_public: t(k ? 0.5 * k : 0),
    t_enclave: t(k ? 0.5 * k + 0.2 : 0), t_enclave_compute: t(k ? 0.5 * k : 0), t_boundary: t(k ? 0.2 : 0),
    setup: { spawn: 40, attest_provision: 10, load_decrypt: 5, session_create: 30, ready_total: 85, teardown: 3 },
    enclave_peak_rss_bytes: 80 * 2 ** 20, tail_weight_bytes: 1000 * k, largest_activation_bytes: 4000, sealed_tail_bytes: 65536, max_abs_diff: 0, labels_equal: true,
    private_params: 250 * k, private_flops: 1500 * k,
    cpu_impact: 1, tee_impact: k ? (0.5 * k + 0.2) / (0.5 * k) : NaN, end_to_end: 1.1,
  };
}

/** A bench report over `splits` on the sim platform, with a recorded load average. */
export function fakeBenchReport(splits: SplitMeasurement[], command = 'enclave-nn bench fake.onnx'): BenchReport {
  return {
    model: 'fake.onnx', command, startedAt: new Date().toISOString(), durationMs: 1234,
    machine: { cpus: 'cpu', cores: 2, memoryBytes: 2 ** 34, platform: 'linux', node: process.version, loadAverage: { start: [0.5, 0.4, 0.3], end: [1.25, 0.5, 0.35] } },
    versions: { node: process.versions.node }, tee: teeOf('sim'),
    options: { batch: 1, repeat: 3, warmup: 1, engine: 'ort', splits: splits.map((s) => s.k) }, layers: ['layer3', 'layer2', 'layer1'],
    t_full: summarize([4, 4.2, 3.9]), splits, targets: evaluateTargets(splits, 4, 1, 'ort'),
  };
}

/**
 * Opens `file` (an HTML path) in headless Chromium and runs `check` on the page; collects page
 * errors and requests that leave the file, which `check` receives to assert on.
 */
export async function withPage(file: string, check: (page: Page, seen: { errors: string[]; requests: string[] }) => Promise<void>): Promise<void> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const seen = { errors: [] as string[], requests: [] as string[] };
    page.on('pageerror', (e) => seen.errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') seen.errors.push(m.text()); });
    page.on('request', (r) => { if (!r.url().startsWith('file:')) seen.requests.push(r.url()); });
    await page.goto(pathToFileURL(file).href);
    await check(page, seen);
  } finally {
    await browser.close();
  }
}
