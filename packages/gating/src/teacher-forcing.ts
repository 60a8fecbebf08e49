import { DataError, createRng, deriveSeed, parseConfig, z, SeedSchema } from '@multichexnet/core';

/** Config of {@link createTeacherForcing}. */
export const TeacherForcingConfigSchema = z
  .object({
    /** Probability that a batch routes by the ground truth instead of the gate (the paper: 0.9). */
    p: z.number().min(0).max(1).default(0.9),
    /** Seed of the per-batch draws. */
    seed: SeedSchema.default(0),
  })
  .strict();
/** What a user passes to {@link createTeacherForcing}. */
export type TeacherForcingConfigInput = z.input<typeof TeacherForcingConfigSchema>;
/** The resolved teacher-forcing config. */
export type TeacherForcingConfig = z.output<typeof TeacherForcingConfigSchema>;

/** Where a batch's det/seg samples come from. */
export type RoutingSource = 'ground-truth' | 'gate';

/** Per-sample facts of one task in one batch. */
export interface RoutingInput {
  /** The sample's ground truth holds a finding of this task (boxes / a non-empty mask). */
  truthPositive: readonly boolean[];
  /** The gate let the sample through. */
  gatePositive: readonly boolean[];
  /** The sample carries a label of this task at all (default: all true); unlabeled samples never route. */
  labeled?: readonly boolean[];
}

/** Which samples of a batch a det/seg head trains on, and with which targets. */
export interface TaskRouting {
  source: RoutingSource;
  /** Rows of the batch that go to the head, ascending. */
  indices: number[];
  /**
   * Per entry of `indices`: `truth` (train on the sample's boxes / mask) or `empty` (a gate false positive, trained
   * as a negative: no boxes, empty mask).
   */
  targets: ('truth' | 'empty')[];
  /** Gate false positives let through (gate routing only). */
  falsePositives: number[];
  /** Positives the gate stopped: they add no loss (gate routing only). */
  falseNegatives: number[];
}

/** One logged draw. */
export interface RoutingLogEntry {
  stream: string;
  step: number;
  source: RoutingSource;
}

/**
 * Teacher forcing: per batch, a seeded coin chooses whether the det/seg heads get the ground-truth positives
 * (probability `p`) or the gate's decisions, so the heads also learn from the gate's false positives (as
 * negatives) while its false negatives are dropped.
 */
export interface TeacherForcing {
  readonly config: TeacherForcingConfig;
  /**
   * The routing source of batch `step` of `stream` (e.g. the phase name). A pure function of (seed, stream, step):
   * a resumed run draws exactly what an uninterrupted one drew. Logged in `history`.
   */
  decide(step: number, stream?: string): RoutingSource;
  /** The samples and targets of one task under a routing source. */
  route(source: RoutingSource, input: RoutingInput): TaskRouting;
  /** Every draw so far, in call order. */
  readonly history: readonly RoutingLogEntry[];
}

function checkLengths(input: RoutingInput): number {
  const n = input.truthPositive.length;
  for (const key of ['gatePositive', 'labeled'] as const) {
    const v = input[key];
    if (v !== undefined && v.length !== n) {
      throw new DataError('Routing inputs differ in length', {
        field: key,
        expected: `${n} entries (truthPositive)`,
        found: `${v.length}`,
      });
    }
  }
  return n;
}

/**
 * The routing of one task for a given source (a pure function, no randomness).
 *
 * - `ground-truth`: every labeled sample whose truth is positive, with its truth targets.
 * - `gate`: every labeled sample the gate let through; truth targets for true positives, empty targets for false
 *   positives; positives the gate stopped are listed in `falseNegatives` and add no loss.
 *
 * @example
 * routeSamples('gate', { truthPositive: [true, false, true], gatePositive: [true, true, false] });
 * // { indices: [0, 1], targets: ['truth', 'empty'], falsePositives: [1], falseNegatives: [2] }
 */
export function routeSamples(source: RoutingSource, input: RoutingInput): TaskRouting {
  const n = checkLengths(input);
  const out: TaskRouting = { source, indices: [], targets: [], falsePositives: [], falseNegatives: [] };
  for (let i = 0; i < n; i++) {
    if (input.labeled !== undefined && !input.labeled[i]) continue;
    const truth = input.truthPositive[i]!;
    if (source === 'ground-truth') {
      if (truth) {
        out.indices.push(i);
        out.targets.push('truth');
      }
      continue;
    }
    const gate = input.gatePositive[i]!;
    if (gate) {
      out.indices.push(i);
      out.targets.push(truth ? 'truth' : 'empty');
      if (!truth) out.falsePositives.push(i);
    } else if (truth) {
      out.falseNegatives.push(i);
    }
  }
  return out;
}

/**
 * Creates the teacher-forcing policy (validated once; a ConfigError names the field).
 *
 * @example
 * const tf = createTeacherForcing({ p: 0.9, seed: 7 });
 * const source = tf.decide(step, 'mtl-joint');            // 'ground-truth' about 9 batches in 10
 * const det = tf.route(source, { truthPositive, gatePositive });
 */
export function createTeacherForcing(config: TeacherForcingConfigInput = {}): TeacherForcing {
  const cfg = parseConfig(TeacherForcingConfigSchema, config, 'teacher forcing config');
  const history: RoutingLogEntry[] = [];
  return {
    config: cfg,
    history,
    decide(step, stream = '') {
      if (!Number.isInteger(step) || step < 0) {
        throw new DataError('Teacher forcing step must be a non-negative integer', {
          field: 'step',
          expected: 'an integer >= 0',
          found: String(step),
        });
      }
      const u = createRng(deriveSeed(cfg.seed, `teacher-forcing/${stream}/${step}`)).next();
      const source: RoutingSource = u < cfg.p ? 'ground-truth' : 'gate';
      history.push({ stream, step, source });
      return source;
    },
    route: routeSamples,
  };
}
