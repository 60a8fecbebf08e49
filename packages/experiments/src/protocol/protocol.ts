import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { ConfigError, DataError, parseConfig, writeFileAtomic, z } from '@multichexnet/core';
import { LossWeightingConfigSchema, PLAN_SIZES } from '@multichexnet/trainer';
import { VARIANTS, type Variant } from '../tables/experiment-config';

/** One decision of the protocol and the data it was made on. */
const DecisionSchema = z
  .object({
    /** What was chosen, in words. */
    choice: z.string().min(1),
    /**
     * `validation`: on the validation split. `development-seeds`: on data of the tuning seeds only (their own
     * synthetic sets, test split included), never on the final seeds' data. `fixed`: set without looking at results.
     */
    chosenOn: z.enum(['validation', 'development-seeds', 'fixed']),
    /** Where the evidence lives (a command, a commit, a file). */
    evidence: z.string().min(1),
  })
  .strict();

/** A series of runs: a plan size, its step scale, synthetic set sizes, variants and how many of the final seeds. */
const SeriesSchema = z
  .object({
    size: z.enum(PLAN_SIZES),
    /** Step counts of every phase multiplied by this (stated in every table). */
    stepScale: z.number().gt(0).max(10),
    /** The first `seeds` of `finalSeeds`. */
    seeds: z.number().int().min(1),
    /** Variants it trains (default every variant of the protocol). */
    variants: z.array(z.enum(VARIANTS)).min(1).optional(),
    synthetic: z
      .object({
        nih: z.number().int().positive(),
        rsna: z.number().int().positive(),
        siim: z.number().int().positive(),
        covid: z.number().int().positive(),
      })
      .strict(),
    /** Why this budget. */
    note: z.string().min(1),
  })
  .strict();

/** The protocol of the paper's tables: everything the final runs use, fixed before they start. */
export const ProtocolSchema = z
  .object({
    name: z.string().min(1),
    /** Seeds of the tables (data, weights, order): never used while tuning. */
    finalSeeds: z.array(z.number().int().nonnegative()).min(1),
    /** Seeds whose data informed the decisions; must not meet `finalSeeds`. */
    tuningSeeds: z.array(z.number().int().nonnegative()),
    /** Named series (e.g. `tiny`, `small`, `learnability-tiny-x4`): what `experiment tables --series <name>` runs. */
    series: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]*$/), SeriesSchema),
    /** Variants of Table 1 (and, the gated ones, Table 2). */
    variants: z.array(z.enum(VARIANTS)).min(1),
    /** Loss weightings of the ablation rows (joint MTL with each). */
    ablations: z.object({ gradnorm: LossWeightingConfigSchema, pcgrad: LossWeightingConfigSchema }).strict(),
    /** Paired bootstrap of every difference. */
    bootstrap: z.object({ resamples: z.number().int().min(100), confidence: z.number().gt(0).lt(1) }).strict(),
    /** Tables 3 and 4: fine-tuning steps; Table 4 gives every fine-tuned row the same extra NIH budget. */
    transfer: z
      .object({ covidFineTuneSteps: z.number().int().positive(), nihExtraSteps: z.number().int().positive() })
      .strict(),
    /** Every choice and what it was made on. */
    decisions: z.array(DecisionSchema).min(1),
    /** SHA-256 of each resolved plan (`<series>/<variant>`, seed 0), written by {@link freezeProtocol}. */
    plans: z.record(z.string(), z.string()).default({}),
  })
  .strict()
  .superRefine((p, ctx) => {
    const overlap = p.finalSeeds.filter((s) => p.tuningSeeds.includes(s));
    if (overlap.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['finalSeeds'],
        message: `must not include tuning seeds (found ${overlap.join(', ')})`,
      });
    for (const [name, s] of Object.entries(p.series)) {
      if (s.seeds > p.finalSeeds.length)
        ctx.addIssue({
          code: 'custom',
          path: ['series', name, 'seeds'],
          message: `must be at most ${p.finalSeeds.length} (the final seeds)`,
        });
      const bad = (s.variants ?? []).filter((v) => !p.variants.includes(v));
      if (bad.length > 0)
        ctx.addIssue({
          code: 'custom',
          path: ['series', name, 'variants'],
          message: `must be variants of the protocol (found ${bad.join(', ')})`,
        });
    }
  });
/** The protocol as written. */
export type ProtocolInput = z.input<typeof ProtocolSchema>;
/** The resolved protocol. */
export type Protocol = z.output<typeof ProtocolSchema>;

/** The protocol file: the protocol and its freeze stamp. */
export interface ProtocolFile {
  protocol: ProtocolInput;
  /** Null until frozen; then the SHA-256 of the canonical protocol JSON and when it was frozen. */
  frozen: { sha256: string; at: string } | null;
}

/** A loaded, checked protocol. */
export interface LoadedProtocol {
  protocol: Protocol;
  sha256: string;
  frozenAt: string | null;
  file: string;
}

/** JSON with sorted keys: the same protocol always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** SHA-256 (hex) of a value's canonical JSON. */
export function sha256Of(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** The protocol file shipped with this package (`@multichexnet/experiments/protocol.json`). */
export function defaultProtocolPath(): string {
  return createRequire(import.meta.url).resolve('@multichexnet/experiments/protocol.json');
}

async function readProtocolFile(file: string): Promise<ProtocolFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new DataError('Cannot read the protocol file', {
      file,
      expected: 'a protocol.json (see @multichexnet/experiments README)',
      found: 'no readable file',
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DataError('The protocol file is not valid JSON', { file, expected: 'JSON', found: (e as Error).message });
  }
  const f = json as Partial<ProtocolFile>;
  if (f === null || typeof f !== 'object' || f.protocol === undefined || !('frozen' in f)) {
    throw new DataError('The protocol file lacks its parts', {
      file,
      expected: '{ "protocol": {...}, "frozen": null | { "sha256", "at" } }',
      found: Object.keys(f ?? {}).join(', ') || 'nothing',
    });
  }
  return f as ProtocolFile;
}

/**
 * Loads and checks a protocol file: the protocol is validated (ConfigError naming each field), and unless
 * `allowUnfrozen` it must be frozen with a SHA-256 that matches its content, so nothing changes after the freeze
 * without it showing.
 *
 * @example
 * const { protocol, sha256 } = await loadProtocol();   // the package's protocol.json
 */
export async function loadProtocol(
  file: string = defaultProtocolPath(),
  options: { allowUnfrozen?: boolean } = {},
): Promise<LoadedProtocol> {
  const f = await readProtocolFile(file);
  const protocol = parseConfig(ProtocolSchema, f.protocol, `protocol ${file}`);
  const sha256 = sha256Of(protocol);
  if (f.frozen === null) {
    if (options.allowUnfrozen !== true) {
      throw new DataError('The protocol is not frozen', {
        file,
        field: 'frozen',
        expected: 'a freeze stamp: run `multichexnet experiment freeze` before the final runs',
        found: 'null',
      });
    }
  } else if (f.frozen.sha256 !== sha256) {
    throw new DataError('The protocol changed after it was frozen', {
      file,
      field: 'frozen.sha256',
      expected: `${f.frozen.sha256} (recorded at ${f.frozen.at})`,
      found: `${sha256} (the content now); results of the old protocol do not mix with new ones`,
    });
  }
  return { protocol, sha256, frozenAt: f.frozen?.at ?? null, file };
}

/** The variants a series of the protocol trains. */
export function seriesVariants(p: Protocol, series: string): Variant[] {
  return [...(p.series[series]?.variants ?? p.variants)];
}

/**
 * Freezes a protocol file: records the SHA-256 of every plan the tables will train (per series and variant, from
 * `planOf`), then the SHA-256 of the whole protocol and the time. Run once, before the final runs.
 */
export async function freezeProtocol(
  file: string,
  planOf: (series: Protocol['series'][string], variant: Variant, p: Protocol) => unknown,
  now: Date = new Date(),
): Promise<LoadedProtocol> {
  const f = await readProtocolFile(file);
  const draft = parseConfig(ProtocolSchema, f.protocol, `protocol ${file}`);
  const plans: Record<string, string> = {};
  for (const [name, s] of Object.entries(draft.series))
    for (const v of seriesVariants(draft, name)) plans[`${name}/${v}`] = sha256Of(planOf(s, v, draft));
  const protocol = parseConfig(ProtocolSchema, { ...f.protocol, plans }, `protocol ${file}`);
  const sha256 = sha256Of(protocol);
  const at = now.toISOString();
  await writeFileAtomic(
    file,
    `${JSON.stringify({ protocol: { ...f.protocol, plans }, frozen: { sha256, at } }, null, 2)}\n`,
  );
  return { protocol, sha256, frozenAt: at, file };
}

/**
 * A resolved plan in the form the protocol's plan hashes were taken of. Plans gained fields with defaults after the
 * freeze (the task table's `model.gate.task`, default `cls`); a field at its default is left out, so a plan the
 * protocol froze hashes as it did then, and a plan that sets it to anything else hashes differently. The protocol
 * file itself never changes.
 *
 * @example
 * sha256Of(frozenPlanForm(variantPlan('multichexnet-joint', cfg)));
 */
export function frozenPlanForm<P>(plan: P): P {
  const model = (plan as { model?: { gate?: { kind?: string; task?: string } | null } }).model;
  const gate = model?.gate;
  if (gate === undefined || gate === null || gate.kind !== 'cls-path' || gate.task !== 'cls') return plan;
  const { task: _default, ...rest } = gate;
  return { ...plan, model: { ...model, gate: rest } } as P;
}

/** Throws unless the plan a run is about to train is the one the protocol froze. */
export function checkPlan(p: LoadedProtocol, series: string, variant: Variant, plan: unknown): void {
  const key = `${series}/${variant}`;
  const want = p.protocol.plans[key];
  if (want === undefined) {
    throw new ConfigError(`protocol ${p.file}`, [
      {
        path: `plans.${key}`,
        rule: 'must be recorded (freeze the protocol with this series and variant)',
        received: 'nothing',
      },
    ]);
  }
  const got = sha256Of(plan);
  if (got !== want) {
    throw new DataError('The plan differs from the one the protocol froze', {
      file: p.file,
      field: `plans.${key}`,
      expected: want,
      found: `${got} (a built-in plan or the step scale changed after the freeze)`,
    });
  }
}
