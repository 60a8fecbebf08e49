import { writeFileAtomic } from '@multichexnet/core';

/**
 * `metrics.jsonl` of a run: one JSON object per line (`type` step | eval | gate-threshold | stopped, with `phase`,
 * `globalStep` and the numbers). Node only.
 */
export interface MetricsLog {
  append(record: Record<string, unknown> & { globalStep: number }): Promise<void>;
  /** Drops the lines written after `globalStep` (a resumed run rewrites what the crashed one had logged). */
  truncateAfter(globalStep: number): Promise<void>;
}

/** Opens (creates) the metrics log of a run folder. */
export async function openMetricsLog(path: string): Promise<MetricsLog> {
  const fs = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  await fs.mkdir(dirname(path), { recursive: true });
  return {
    append: async (record) => {
      await fs.appendFile(path, `${JSON.stringify(record)}\n`);
    },
    truncateAfter: async (globalStep) => {
      let text = '';
      try {
        text = await fs.readFile(path, 'utf8');
      } catch {
        return;
      }
      const keep = text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .filter((l) => {
          try {
            return (JSON.parse(l) as { globalStep?: number }).globalStep! <= globalStep;
          } catch {
            return false;
          }
        });
      await writeFileAtomic(path, keep.length > 0 ? `${keep.join('\n')}\n` : '');
    },
  };
}
