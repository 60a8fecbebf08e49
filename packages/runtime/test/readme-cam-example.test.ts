import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runReadmeExample } from '@multichexnet/core/testing';
import { describe, expect, it } from 'vitest';

// The README's "Class activation maps" example, run as written from the repository root (it reads a real film).
const here = dirname(fileURLToPath(import.meta.url));
const README = join(here, '..', 'README.md');
const ROOT = resolve(here, '..', '..', '..');
const REAL = join(ROOT, '..', 'shared', 'realdata', '00000001_000.png');

describe.skipIf(!existsSync(REAL))('README class activation map example', () => {
  it('exports with cls_cam, returns the asked map with its peak on the film, and gives the tfjs CAM and Grad-CAM', async () => {
    const lines = await runReadmeExample(README, '<!-- example:cam', { cwd: ROOT });
    expect(lines).toEqual(['4 4 32 true', '[1,4,4,14] [1,4,4]']);
  }, 120_000);
});
