import { runReadmeExample } from '@multichexnet/core/testing';
import { describe, expect, it } from 'vitest';

// The README's "Fine-tune a model for COVID-19" example, run as written.
describe('README example', () => {
  it('fine-tunes a COVID-19 decoder on a synthetic collection, reports test metrics, and predicts boxes and masks', async () => {
    const lines = await runReadmeExample(new URL('../README.md', import.meta.url), '<!-- example:fine-tune');
    expect(lines).toHaveLength(2);
    const m = /^COVID-19 test AUROC (\S+), F1 (\S+), sensitivity (\S+) at specificity >= 0\.9$/.exec(lines[0]!);
    expect(m).not.toBeNull();
    for (const v of m!.slice(1).map(Number)) expect(v >= 0 && v <= 1).toBe(true);
    expect(lines[1]).toMatch(/^P\(COVID-19\) 0\.\d{3}, gate (true|false), \d+ boxes, mask 64x64$/);
  }, 120_000);
});
