import { runReadmeExample } from '@multichexnet/core/testing';
import { describe, expect, it } from 'vitest';

// The README's "Train with the encoder" example, run as written: the head composed with createEncoder trains on the
// wasm backend and its loss goes down. The example (user code) imports @multichexnet/core-encoder; the head's own
// source never does (a devDependency only, for this test).
describe('README example', () => {
  it('trains encoder + CheXCls on wasm with a falling loss and decodes probabilities', async () => {
    const lines = await runReadmeExample(new URL('../README.md', import.meta.url), '<!-- example:train');
    const losses = lines.filter((l) => l.startsWith('step ')).map((l) => Number(l.split('loss ')[1]));
    expect(losses).toHaveLength(5);
    expect(losses.every(Number.isFinite)).toBe(true);
    for (let i = 1; i < losses.length; i++) expect(losses[i]!, `step ${i + 1} vs ${i}`).toBeLessThan(losses[i - 1]!);
    const probability = Number(lines.at(-1));
    expect(probability).toBeGreaterThanOrEqual(0);
    expect(probability).toBeLessThanOrEqual(1);
  });
});
