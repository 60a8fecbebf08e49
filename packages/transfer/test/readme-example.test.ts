import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

// The README's "Fine-tune a model for COVID-19" example, run as written.
const README = fileURLToPath(new URL('../README.md', import.meta.url));

function exampleCode(): string {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf('<!-- example:fine-tune');
  const open = text.indexOf('```ts\n', start);
  const close = text.indexOf('\n```', open + 6);
  if (start < 0 || open < 0 || close < 0) throw new Error('README.md lost its example:fine-tune code block');
  return text.slice(open + 6, close + 1);
}

describe('README example', () => {
  it('fine-tunes a COVID-19 decoder on a synthetic collection, reports test metrics, and predicts boxes and masks', async () => {
    const file = fileURLToPath(new URL(`./.readme-example-${process.pid}.ts`, import.meta.url));
    writeFileSync(file, exampleCode());
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
    try {
      await import(pathToFileURL(file).href);
    } finally {
      spy.mockRestore();
      rmSync(file, { force: true });
    }
    expect(lines).toHaveLength(2);
    const m = /^COVID-19 test AUROC (\S+), F1 (\S+), sensitivity (\S+) at specificity >= 0\.9$/.exec(lines[0]!);
    expect(m).not.toBeNull();
    for (const v of m!.slice(1).map(Number)) expect(v >= 0 && v <= 1).toBe(true);
    expect(lines[1]).toMatch(/^P\(COVID-19\) 0\.\d{3}, gate (true|false), \d+ boxes, mask 64x64$/);
  }, 120_000);
});
