import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

// The README's "Class activation maps" example, run as written from the repository root (it reads a real film).
const here = dirname(fileURLToPath(import.meta.url));
const README = join(here, '..', 'README.md');
const ROOT = resolve(here, '..', '..', '..');
const REAL = join(ROOT, '..', 'shared', 'realdata', '00000001_000.png');

function exampleCode(): string {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf('<!-- example:cam');
  const open = text.indexOf('```ts\n', start);
  const close = text.indexOf('\n```', open + 6);
  if (start < 0 || open < 0 || close < 0) throw new Error('README.md lost its example:cam code block');
  return text.slice(open + 6, close + 1);
}

describe.skipIf(!existsSync(REAL))('README class activation map example', () => {
  it('exports with cls_cam, returns the asked map with its peak on the film, and gives the tfjs CAM and Grad-CAM', async () => {
    const file = join(here, `.readme-cam-example-${process.pid}.ts`);
    writeFileSync(file, exampleCode());
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'object' ? JSON.stringify(a) : String(a))).join(' '));
    });
    const cwd = process.cwd();
    process.chdir(ROOT);
    try {
      await import(pathToFileURL(file).href);
    } finally {
      process.chdir(cwd);
      spy.mockRestore();
      rmSync(file, { force: true });
    }
    expect(lines).toEqual(['4 4 32 true', '[1,4,4,14] [1,4,4]']);
  }, 120_000);
});
