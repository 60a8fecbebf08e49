import { readFile } from 'node:fs/promises';
import { DataError } from '@multichexnet/core';

/**
 * The JSON of a run file (`reviver` as `JSON.parse` takes it), or undefined when the file is absent: a run folder
 * holds only what its steps wrote. A file that is there but holds no JSON is a DataError naming it, with `message`
 * (default `Run file is not valid JSON`).
 *
 * @example
 * const plan = await readOptionalJson(join(runDir, 'plan.json'));   // undefined before `train` wrote it
 */
export async function readOptionalJson(
  file: string,
  options: { message?: string; reviver?: (key: string, value: unknown) => unknown } = {},
): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text, options.reviver) as unknown;
  } catch (e) {
    throw new DataError(options.message ?? 'Run file is not valid JSON', {
      file,
      expected: 'JSON',
      found: (e as Error).message,
    });
  }
}
