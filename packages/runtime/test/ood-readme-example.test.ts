import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

// The README's "Out-of-distribution refusal and calibrated probabilities" example, run as written: a frontal film
// passes with calibrated probabilities, a page of text is refused with the one-line message.
const README = fileURLToPath(new URL('../README.md', import.meta.url));

function exampleCode(): string {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf('<!-- example:ood');
  const open = text.indexOf('```ts\n', start);
  const close = text.indexOf('\n```', open + 6);
  if (start < 0 || open < 0 || close < 0) throw new Error('README.md lost its example:ood code block');
  return text.slice(open + 6, close + 1);
}

describe('README OOD / calibration example', () => {
  it('passes a held-out frontal film, calibrated, and refuses a page of text', async () => {
    const file = fileURLToPath(new URL(`./.readme-ood-${process.pid}.ts`, import.meta.url));
    writeFileSync(file, exampleCode());
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'object' ? JSON.stringify(a) : String(a))).join(' '));
    });
    try {
      await import(pathToFileURL(file).href);
    } finally {
      spy.mockRestore();
      rmSync(file, { force: true });
    }
    expect(lines[0]).toMatch(/^false true \{"score":[\d.e-]+,"threshold":[\d.e-]+,"outOfDistribution":false\}$/);
    expect(lines[1]).toMatch(
      /^page\.png: refused: not like the frontal chest X-rays the model was trained on \(OOD score [\d.]+ > threshold [\d.]+\)$/,
    );
  }, 120_000);
});
