import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from './helpers/browser';
import { serveStatic, type StaticServer } from './helpers/static-server';

// Opt-in (DEMO_E2E_WEBGPU=1): SwiftShader's software WebGPU takes ~35 s to compile the model's shaders on 2 cores,
// too slow for every `npm test`, but it runs the page's WebGPU path where no GPU exists.
const appRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const realPng = resolve(appRoot, '..', '..', '..', 'shared', 'realdata', '00000001_000.png');
const artifacts = join(appRoot, 'test-artifacts');
const site = join(artifacts, 'site-webgpu');
const wanted = process.env.DEMO_E2E_WEBGPU === '1';
const skipReason = !wanted
  ? 'set DEMO_E2E_WEBGPU=1 to run it'
  : !hasChromium()
    ? 'Chromium not found'
    : !existsSync(realPng)
      ? `${realPng} not found`
      : null;
if (skipReason !== null && wanted) console.warn(`[demo webgpu e2e] skipped: ${skipReason}`);

/** Opens the page in a browser, runs the real PNG, returns the backend that ran and the probabilities. */
async function runPage(
  browser: Browser,
  origin: string,
): Promise<{ backend: string; probabilities: Record<string, number> }> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => ['ready', 'error', 'no-model'].includes(document.body.dataset.state ?? ''), null, {
    timeout: 150_000,
  });
  await page.setInputFiles('#image-input', realPng);
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), null, {
    timeout: 60_000,
  });
  const r = await page.evaluate(() => ({
    backend: document.querySelector<HTMLElement>('[data-testid=backend]')?.dataset.backend ?? 'none',
    probabilities: Object.fromEntries(
      Array.from(document.querySelectorAll<HTMLElement>('.prob-row'), (row) => [
        row.dataset.class!,
        Number(row.dataset.probability),
      ]),
    ),
  }));
  await page.screenshot({ path: join(artifacts, `backend-${r.backend}.png`), fullPage: true });
  return r;
}

describe.skipIf(skipReason !== null)('demo page on WebGPU (SwiftShader) vs WebAssembly', () => {
  let server: StaticServer;

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    await build({
      configFile: join(appRoot, 'vite.config.ts'),
      logLevel: 'error',
      build: { outDir: site, emptyOutDir: true },
    });
    server = await serveStatic(site);
  }, 120_000);

  afterAll(async () => {
    await server?.close();
  });

  it('runs on WebGPU when an adapter exists and agrees with WebAssembly', async () => {
    const gpuBrowser = await launchChromium({ webgpu: true });
    const gpu = await runPage(gpuBrowser, server.origin).finally(() => gpuBrowser.close());
    const cpuBrowser = await launchChromium();
    const cpu = await runPage(cpuBrowser, server.origin).finally(() => cpuBrowser.close());
    expect(gpu.backend).toBe('webgpu');
    expect(cpu.backend).toBe('wasm');
    expect(Object.keys(gpu.probabilities).sort()).toEqual(Object.keys(cpu.probabilities).sort());
    for (const [k, p] of Object.entries(gpu.probabilities))
      expect(Math.abs(p - cpu.probabilities[k]!)).toBeLessThan(1e-3);
  }, 240_000);
});
