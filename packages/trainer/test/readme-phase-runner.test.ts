import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

// The README's "How train() is built: the phase runner" example, run as written.
const README = fileURLToPath(new URL('../README.md', import.meta.url));

function exampleCode(): string {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf('<!-- example:phase-runner');
  const open = text.indexOf('```ts\n', start);
  const close = text.indexOf('\n```', open + 6);
  if (start < 0 || open < 0 || close < 0) throw new Error('README.md lost its example:phase-runner code block');
  return text.slice(open + 6, close + 1);
}

describe('README example', () => {
  it('runs a custom phase through the phase runner, stops it after step 3 and resumes it to the end', async () => {
    const file = fileURLToPath(new URL(`./.readme-phase-runner-${process.pid}.ts`, import.meta.url));
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
    expect(lines).toEqual(['aborted at step 3', 'completed at step 0', '6 true']);
  }, 120_000);
});
