import { writeFileAtomic } from '@multichexnet/core';

/**
 * `metrics.jsonl` of a run: one JSON object per line (`type` step | eval | gate-threshold | stopped, with `phase`,
 * `globalStep` and the numbers). Node only.
 */
export interface MetricsLog {
  append(record: Record<string, unknown> & { globalStep: number }): Promise<void>;
  /** Drops the lines written after `globalStep` (a resumed run rewrites what the crashed one had logged). */
  truncateAfter(globalStep: number): Promise<void>;
  /** The records written so far, in order (a line that is not JSON is left out). */
  records(): Promise<Record<string, unknown>[]>;
}

function parseLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/** A metrics log kept in memory: the same records, for a run that has no run folder. */
export function createMemoryMetricsLog(): MetricsLog {
  let lines: Record<string, unknown>[] = [];
  return {
    append: async (record) => {
      lines.push(JSON.parse(JSON.stringify(record)) as Record<string, unknown>);
    },
    truncateAfter: async (globalStep) => {
      lines = lines.filter((l) => (l.globalStep as number) <= globalStep);
    },
    records: async () => [...lines],
  };
}

/** Opens (creates) the metrics log of a run folder. */
export async function openMetricsLog(path: string): Promise<MetricsLog> {
  const fs = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  await fs.mkdir(dirname(path), { recursive: true });
  const read = async (): Promise<string> => {
    try {
      return await fs.readFile(path, 'utf8');
    } catch {
      return '';
    }
  };
  return {
    append: async (record) => {
      await fs.appendFile(path, `${JSON.stringify(record)}\n`);
    },
    truncateAfter: async (globalStep) => {
      const text = await read();
      if (text === '') return;
      const keep = parseLines(text).filter((r) => (r.globalStep as number) <= globalStep);
      await writeFileAtomic(path, keep.map((r) => `${JSON.stringify(r)}\n`).join(''));
    },
    records: async () => parseLines(await read()),
  };
}
