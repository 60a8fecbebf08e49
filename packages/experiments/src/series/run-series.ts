import { ConfigError, DataError, parseConfig, writeFileAtomic, z } from '@multichexnet/core';
import type { TrainingData } from '@multichexnet/trainer';
import { loadProtocol, seriesVariants, type LoadedProtocol } from '../protocol/protocol';
import { VARIANTS } from '../tables/experiment-config';
import type { ExperimentEvent } from '../tables/run-variants';
import { currentProvenance } from './provenance';
import { renderTable1, renderTable2 } from './render';
import { readSeedRecord, runSeed } from './run-seed';
import type { SeedRecord } from './seed-record';
import { SERIES_FIELDS } from './series-options';
import { summariseTable1, summariseTable2 } from './summarise';
import type { SeriesFrame, Table1Summary, Table2Summary } from './summary-types';

/** Options of {@link experimentSeries}. */
export const SeriesConfigSchema = z
  .object({
    ...SERIES_FIELDS,
    /** Run seeds the protocol lists as tuning seeds (development runs: never for the final tables). */
    allowTuningSeeds: z.boolean().default(false),
    /** Continue a series folder that already holds seeds (finished seeds are read, an interrupted one resumes). */
    resume: z.boolean().default(false),
    /** Subset of the protocol's variants. */
    variants: z.array(z.enum(VARIANTS)).min(1).optional(),
    /** The command line, for the provenance. */
    command: z.string().default('experimentSeries()'),
  })
  .strict();
/** What users pass. */
export type SeriesConfigInput = z.input<typeof SeriesConfigSchema>;

/** Runtime options of a series. */
export interface SeriesRuntime {
  /** Datasets to use instead of each seed's synthetic ones (every seed then shares them). */
  data?: TrainingData;
  onEvent?: ((e: ExperimentEvent) => void) | null;
  /** Called after each finished seed with the tables so far (e.g. to commit them). */
  onSeed?: (seed: SeedRecord, tables: { table1: Table1Summary; table2: Table2Summary }) => void | Promise<void>;
}

const PROVENANCE_FILE = 'provenance.json';

async function exists(p: string): Promise<boolean> {
  const fs = await import('node:fs/promises');
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/**
 * Tables 1 and 2 over several seeds under a frozen protocol. Each seed runs in `<out>/seed-<n>` (its own
 * synthetic data and split, every variant, `seed-tables12.json`); after each finished seed the tables over the
 * seeds so far are written to `<out>/table1.{json,md}` and `<out>/table2.{json,md}`, so an interrupted series
 * keeps what finished. `resume: true` continues a folder (finished seeds are read, the interrupted one resumes
 * from its checkpoints).
 *
 * @example
 * const { table1 } = await experimentSeries({ out: 'runs/series-tiny', series: 'tiny' });   // seeds 100-104
 * console.log(table1.verdict);
 */
export async function experimentSeries(
  input: SeriesConfigInput,
  runtime: SeriesRuntime = {},
): Promise<{ table1: Table1Summary; table2: Table2Summary; protocol: LoadedProtocol }> {
  const cfg = parseConfig(SeriesConfigSchema, input, 'series config');
  const { join } = await import('node:path');
  const fs = await import('node:fs/promises');
  const protocol = await loadProtocol(cfg.protocol, { allowUnfrozen: cfg.allowUnfrozen });
  const p = protocol.protocol;
  const size = p.series[cfg.series];
  if (size === undefined) {
    throw new ConfigError(`protocol ${protocol.file}`, [
      {
        path: `series.${cfg.series}`,
        rule: `must be one of the protocol's series (${Object.keys(p.series).join(', ')})`,
        received: 'nothing',
      },
    ]);
  }
  const planned = p.finalSeeds.slice(0, size.seeds);
  const seeds = cfg.seeds ?? planned;
  const tuning = seeds.filter((s) => p.tuningSeeds.includes(s));
  if (tuning.length > 0 && !cfg.allowTuningSeeds) {
    throw new ConfigError('series config', [
      {
        path: 'seeds',
        rule: `must not be tuning seeds of the protocol (${p.tuningSeeds.join(', ')})`,
        received: tuning.join(', '),
      },
    ]);
  }
  const allowed = seriesVariants(p, cfg.series);
  const variants = cfg.variants ?? allowed;
  const bad = variants.filter((v) => !allowed.includes(v));
  if (bad.length > 0)
    throw new ConfigError('series config', [
      {
        path: 'variants',
        rule: `must be variants of the series ${cfg.series} (${allowed.join(', ')})`,
        received: bad.join(', '),
      },
    ]);
  await fs.mkdir(cfg.out, { recursive: true });
  const started = await (async () => {
    try {
      return (JSON.parse(await fs.readFile(join(cfg.out, PROVENANCE_FILE), 'utf8')) as { startedAt: string }).startedAt;
    } catch {
      return null;
    }
  })();
  const seedDirs = (await fs.readdir(cfg.out)).filter((n) => /^seed-\d+$/.test(n));
  if (seedDirs.length > 0 && !cfg.resume) {
    throw new DataError('The series folder already holds seeds', {
      file: cfg.out,
      expected: 'an empty folder, or --resume to continue it',
      found: seedDirs.join(', '),
    });
  }
  const startedAt = started ?? new Date().toISOString();
  const frame = (): SeriesFrame => ({
    title: '',
    protocol: { sha256: protocol.sha256, frozenAt: protocol.frozenAt },
    series: cfg.series,
    size: size.size,
    stepScale: size.stepScale,
    seeds: [],
    plannedSeeds: planned,
    seedCommits: {},
    bootstrap: p.bootstrap,
    provenance: currentProvenance(cfg.command, startedAt),
  });
  await writeFileAtomic(join(cfg.out, PROVENANCE_FILE), `${JSON.stringify(frame().provenance, null, 2)}\n`);
  const emit = runtime.onEvent === null ? () => {} : (runtime.onEvent ?? (() => {}));
  const write = async (records: SeedRecord[]): Promise<{ table1: Table1Summary; table2: Table2Summary }> => {
    const f = {
      ...frame(),
      seeds: records.map((r) => r.seed),
      seedCommits: Object.fromEntries(records.map((r) => [String(r.seed), r.commit])),
    };
    const table1 = summariseTable1(records, {
      ...f,
      title: `Table 1: single-task baselines, the paper's stage baselines, BigBang and MultiCheXNet (series ${cfg.series})`,
    });
    const table2 = summariseTable2(records, {
      ...f,
      title: `Table 2: det / seg with the trained gate vs ground-truth and no gating (series ${cfg.series})`,
    });
    await writeSummary(cfg.out, 'table1', table1, renderTable1(table1));
    await writeSummary(cfg.out, 'table2', table2, renderTable2(table2));
    return { table1, table2 };
  };
  // The tables cover every finished seed of the folder (the planned ones and any run here), whichever call ran it,
  // so seeds run by separate calls (or processes) end up in one table.
  const finished = async (): Promise<SeedRecord[]> => {
    const out: SeedRecord[] = [];
    for (const s of [...new Set([...planned, ...seeds])]) {
      const r = await readSeedRecord(join(cfg.out, `seed-${s}`));
      if (r !== null) out.push(r);
    }
    return out;
  };
  let tables: { table1: Table1Summary; table2: Table2Summary } | null = null;
  for (const seed of seeds) {
    const dir = join(cfg.out, `seed-${seed}`);
    const had = await readSeedRecord(dir);
    const complete = had !== null && variants.every((v) => had.variants.some((x) => x.variant === v));
    const state = complete
      ? 'finished earlier, read'
      : had !== null
        ? 'extending with its missing variants'
        : (await exists(dir))
          ? 'resuming'
          : 'starting';
    emit({ type: 'experiment', stage: 'seed', message: `seed ${seed}: ${state} in ${dir}` });
    const record = await runSeed(
      {
        out: dir,
        size: size.size,
        seed,
        stepScale: size.stepScale,
        synthetic: { nih: size.synthetic.nih, rsna: size.synthetic.rsna, siim: size.synthetic.siim },
        variants,
        ablations: p.ablations,
      },
      { ...(runtime.data ? { data: runtime.data } : {}), onEvent: runtime.onEvent ?? null },
      { protocol, series: cfg.series },
    );
    // Tables after each newly run seed (an interrupted series keeps them), and once at the end.
    if (!complete || seed === seeds[seeds.length - 1]) tables = await write(await finished());
    if (!complete) await runtime.onSeed?.(record, tables!);
  }
  return { ...tables!, protocol };
}

/** Writes `<out>/<name>.json` (non-finite numbers as strings) and the Markdown rendered from it. */
export async function writeSummary(out: string, name: string, json: unknown, markdown: string): Promise<void> {
  const { join } = await import('node:path');
  await writeFileAtomic(
    join(out, `${name}.json`),
    `${JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`,
  );
  await writeFileAtomic(join(out, `${name}.md`), markdown);
}

/** Reads a table JSON written by {@link writeSummary} (strings "NaN" / "Infinity" back to numbers). */
export function parseSummary<T>(text: string): T {
  return JSON.parse(text, (_k, v: unknown) =>
    v === 'NaN'
      ? Number.NaN
      : v === 'Infinity'
        ? Number.POSITIVE_INFINITY
        : v === '-Infinity'
          ? Number.NEGATIVE_INFINITY
          : v,
  ) as T;
}
