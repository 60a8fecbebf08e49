import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readmeExample, runExampleModule } from '@multichexnet/core/testing';

// The README's "How train() is built: the phase runner" example, run as written.
describe('README example', () => {
  it('runs a custom phase through the phase runner, stops it after step 3 and resumes it to the end', async () => {
    const code = await readmeExample(fileURLToPath(new URL('../README.md', import.meta.url)), 'phase-runner');
    const lines = await runExampleModule(code, fileURLToPath(new URL('.', import.meta.url)));
    expect(lines).toEqual(['aborted at step 3', 'completed at step 0', '6 true']);
  }, 120_000);
});
