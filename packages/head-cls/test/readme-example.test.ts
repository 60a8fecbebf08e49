import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

// The README's "Train with the encoder" example, run as written: the head composed with createEncoder trains on the
// wasm backend and its loss goes down. The example (user code) imports @multichexnet/core-encoder; the head's own
// source never does (a devDependency only, for this test).
const README = fileURLToPath(new URL('../README.md', import.meta.url));

function exampleCode(): string {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf('<!-- example:train');
  const open = text.indexOf('```ts\n', start);
  const close = text.indexOf('\n```', open + 6);
  if (start < 0 || open < 0 || close < 0) throw new Error('README.md lost its example:train code block');
  return text.slice(open + 6, close + 1);
}

describe('README example', () => {
  it('trains encoder + CheXCls on wasm with a falling loss and decodes probabilities', async () => {
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
    const losses = lines.filter((l) => l.startsWith('step ')).map((l) => Number(l.split('loss ')[1]));
    expect(losses).toHaveLength(5);
    expect(losses.every(Number.isFinite)).toBe(true);
    for (let i = 1; i < losses.length; i++) expect(losses[i]!, `step ${i + 1} vs ${i}`).toBeLessThan(losses[i - 1]!);
    const probability = Number(lines.at(-1));
    expect(probability).toBeGreaterThanOrEqual(0);
    expect(probability).toBeLessThanOrEqual(1);
  });
});
