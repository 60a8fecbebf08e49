import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (never a downloaded browser). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const hasChromium = (): boolean => existsSync(CHROMIUM);

/**
 * Headless Chromium as root in a container: no sandbox, none of the browser's own background traffic
 * (component updates, sync, first-run pings). playwright-core gives every launch a fresh temporary profile
 * (its own --user-data-dir) and deletes it on close.
 *
 * `webgpu: false` (default) disables the GPU, so the page has no WebGPU adapter and runs on WebAssembly;
 * `webgpu: true` gives it SwiftShader's software WebGPU adapter (slow, but the same code path as a real GPU).
 */
export async function launchChromium(options: { webgpu?: boolean } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-default-apps',
      '--disable-domain-reliability',
      ...(options.webgpu ? ['--enable-unsafe-webgpu', '--enable-unsafe-swiftshader'] : ['--disable-gpu']),
    ],
  });
}
