import { describe, expect, it } from 'vitest';
import { runReadmeExample } from '@multichexnet/core/testing';

// The README's "How train() is built: the phase runner" example, run as written.
describe('README example', () => {
  it('runs a custom phase through the phase runner, stops it after step 3 and resumes it to the end', async () => {
    const lines = await runReadmeExample(new URL('../README.md', import.meta.url), '<!-- example:phase-runner');
    expect(lines).toEqual(['aborted at step 3', 'completed at step 0', '6 true']);
  }, 120_000);
});
