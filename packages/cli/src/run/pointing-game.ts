import { createRng, deriveSeed, pointingGame, type BinaryMask } from '@multichexnet/core';
import { createPipeline, type PipelineModelSource } from '@multichexnet/runtime';
import { FINDING_KINDS, renderFilm, type FindingKind } from '@multichexnet/synth';
import { UsageError } from '../cli-error';

/**
 * The findings the synthetic generator paints as a lesion smaller than the lungs, where pointing at it says
 * something (Cardiomegaly, Emphysema and Edema cover the heart or both lungs: any peak on the chest would hit).
 */
export const LOCALISED_FINDINGS: readonly FindingKind[] = [
  'Atelectasis',
  'Consolidation',
  'Effusion',
  'Fibrosis',
  'Hernia',
  'Infiltration',
  'Mass',
  'Nodule',
  'Pleural_Thickening',
  'Pneumonia',
  'Pneumothorax',
];

/** Options of {@link evaluatePointingGame}. */
export interface PointingGameOptions {
  /** Films drawn per class (default 40). */
  films?: number;
  /** Side of the films in pixels (default: the model's input size). */
  size?: number;
  seed?: number;
  /** Classes to test (default: the model's classes among {@link LOCALISED_FINDINGS}). */
  classes?: string[];
  /** The tolerant game's radius in film pixels (default: half a map cell, in film pixels). */
  tolerance?: number;
}

/** One class's pointing game: strict (peak on a lesion pixel) and tolerant, with what a random point would score. */
export interface PointingGameClassResult {
  trials: number;
  hits: number;
  accuracy: number;
  tolerantHits: number;
  tolerantAccuracy: number;
  /** Mean share of the film a uniformly random peak would hit: the strict and tolerant chance levels. */
  chance: number;
  tolerantChance: number;
}

/** `pointing-game`'s JSON document. */
export interface PointingGameReport {
  format: 'multichexnet-pointing-game';
  model: string;
  settings: { films: number; size: number; seed: number; tolerance: number; stride: number };
  classes: Record<string, PointingGameClassResult>;
  /** Every trial of every class together. */
  overall: PointingGameClassResult;
}

/**
 * The pointing game of a model's class activation maps on synthetic films whose lesions are known: for each class,
 * `films` PA films with that one finding painted (@multichexnet/synth's `renderFilm`, seeded), run through the
 * runtime pipeline with the class's map; a hit when the map's peak falls on the painted lesion (strict), or within
 * `tolerance` film pixels of it. The model must carry its maps (`cls_cam`: exported with `cam: true`).
 *
 * @example
 * const r = await evaluatePointingGame('runs/quickstart', { films: 40, seed: 0 });   // r.classes.Mass.accuracy
 */
export async function evaluatePointingGame(
  model: PipelineModelSource,
  options: PointingGameOptions = {},
): Promise<PointingGameReport> {
  const films = options.films ?? 40;
  const seed = options.seed ?? 0;
  const probe = await createPipeline({ model, gate: { enabled: false } });
  const meta = probe.metadata;
  await probe.dispose();
  const classes = options.classes ?? LOCALISED_FINDINGS.filter((c) => meta.classNames.includes(c));
  const unknown = classes.filter(
    (c) => !(FINDING_KINDS as readonly string[]).includes(c) || !meta.classNames.includes(c),
  );
  if (unknown.length > 0)
    throw new UsageError(
      `pointing game: ${unknown.join(', ')} is not both a class of the model (${meta.classNames.join(', ')}) and a finding the generator paints`,
    );
  if (classes.length === 0)
    throw new UsageError(
      `pointing game: the model has none of the localised findings (${LOCALISED_FINDINGS.join(', ')})`,
    );
  const inputSize = meta.preprocessing?.size ?? 256;
  const size = options.size ?? inputSize;
  // the maps are what is scored: no OOD refusal (a synthetic film the model's check would refuse keeps its maps)
  const pipeline = await createPipeline({
    model,
    gate: { enabled: false },
    cam: { classes, findings: false },
    ood: 'off',
  });
  const results: Record<string, PointingGameClassResult> = {};
  const all = {
    strict: [] as boolean[],
    tolerant: [] as boolean[],
    chance: [] as number[],
    tolerantChance: [] as number[],
  };
  let stride = 0;
  let tolerance = options.tolerance ?? 0;
  try {
    for (const cls of classes) {
      const drawn = Array.from({ length: films }, (_, i) => {
        const rng = createRng(deriveSeed(seed, `pointing-game/${cls}/${i}`));
        return renderFilm(
          {
            size,
            view: 'PA',
            sex: i % 2 === 0 ? 'F' : 'M',
            findings: [{ kind: cls as FindingKind, severity: rng.uniform(0.6, 1) }],
          },
          rng,
        );
      });
      const out = await pipeline.runBatch(drawn.map((f) => ({ width: f.width, height: f.height, data: f.pixels })));
      const strict: boolean[] = [];
      const tolerant: boolean[] = [];
      const chance: number[] = [];
      const tolerantChance: number[] = [];
      out.forEach((r, i) => {
        const cam = r.cams?.[cls];
        if (cam === undefined) throw new UsageError(`pointing game: the pipeline returned no map of ${cls}`);
        stride = cam.stride;
        // half a map cell on the film: the peak is a cell centre, so a lesion inside the peak cell is within it
        if (options.tolerance === undefined) tolerance = (cam.stride / 2) * (size / inputSize);
        const target = lesionMask(
          drawn[i]!.findings.filter((f) => f.kind === cls).map((f) => f.mask),
          size,
        );
        strict.push(pointingGame([{ peak: cam.peak, target }]).hits === 1);
        tolerant.push(pointingGame([{ peak: cam.peak, target }], { tolerance }).hits === 1);
        chance.push(coveredShare(target, 0));
        tolerantChance.push(coveredShare(target, tolerance));
      });
      results[cls] = summary(strict, tolerant, chance, tolerantChance);
      all.strict.push(...strict);
      all.tolerant.push(...tolerant);
      all.chance.push(...chance);
      all.tolerantChance.push(...tolerantChance);
    }
  } finally {
    await pipeline.dispose();
  }
  return {
    format: 'multichexnet-pointing-game',
    model: typeof model === 'string' ? model : 'in memory',
    settings: { films, size, seed, tolerance, stride },
    classes: results,
    overall: summary(all.strict, all.tolerant, all.chance, all.tolerantChance),
  };
}

function summary(
  strict: boolean[],
  tolerant: boolean[],
  chance: number[],
  tolerantChance: number[],
): PointingGameClassResult {
  const hits = strict.filter(Boolean).length;
  const tolerantHits = tolerant.filter(Boolean).length;
  const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  return {
    trials: strict.length,
    hits,
    accuracy: hits / Math.max(1, strict.length),
    tolerantHits,
    tolerantAccuracy: tolerantHits / Math.max(1, strict.length),
    chance: mean(chance),
    tolerantChance: mean(tolerantChance),
  };
}

/** The union of a finding's instance masks. */
function lesionMask(masks: BinaryMask[], size: number): BinaryMask {
  const data = new Uint8Array(size * size);
  for (const m of masks) for (let i = 0; i < data.length; i++) if (m.data[i] !== 0) data[i] = 1;
  return { width: size, height: size, data };
}

/** Share of the film's pixel centres within `radius` pixels of the mask: what a uniformly random peak hits. */
function coveredShare(mask: BinaryMask, radius: number): number {
  const { width, height, data } = mask;
  const r = Math.ceil(radius);
  const on = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[y * width + x] === 0) continue;
      for (let yy = Math.max(0, y - r); yy <= Math.min(height - 1, y + r); yy++) {
        for (let xx = Math.max(0, x - r); xx <= Math.min(width - 1, x + r); xx++) {
          // pointingGame's test for a peak at the centre of pixel (xx, yy): its distance to the square of pixel (x, y)
          const dx = Math.max(x - (xx + 0.5), 0, xx + 0.5 - (x + 1));
          const dy = Math.max(y - (yy + 0.5), 0, yy + 0.5 - (y + 1));
          if (dx * dx + dy * dy <= radius * radius) on[yy * width + xx] = 1;
        }
      }
    }
  }
  let n = 0;
  for (let i = 0; i < on.length; i++) n += on[i]!;
  return n / on.length;
}

/**
 * The pointing-game floor a trained model is held to, stated before the quickstart model it is checked on was
 * trained: (1) overall, within half a map cell, more hits than a random peak would make, at one-sided significance
 * `significance`; (2) every localised class the model detects (its test AUROC at least `detectedAuroc`) scores at
 * least `detectedRatio` times its chance level within half a cell. A map cannot point at what the model does not see,
 * so (2) holds only the detected classes to a ratio; (1) holds the maps of every class together to beat chance.
 */
export const POINTING_GAME_FLOOR = { significance: 0.01, detectedAuroc: 0.8, detectedRatio: 2 } as const;

/** {@link checkPointingGameFloor}'s verdict. */
export interface PointingGameFloorVerdict {
  floor: { significance: number; detectedAuroc: number; detectedRatio: number };
  overall: { trials: number; tolerantHits: number; tolerantChance: number; pValue: number; holds: boolean };
  detected: { className: string; auroc: number; tolerantAccuracy: number; tolerantChance: number; holds: boolean }[];
  holds: boolean;
}

/**
 * Checks a pointing-game report against {@link POINTING_GAME_FLOOR} (or `floor`), with the model's per-class test
 * AUROC (e.g. `metrics.cls.perClassAuroc` of the run's eval-test.json). The overall p-value is the binomial upper tail
 * P(X >= hits), X ~ Binomial(trials, mean chance): the hits of a random peak are a sum of Bernoulli trials with the
 * films' own chance levels, whose upper tail above the mean is no heavier than this binomial's (Hoeffding 1956), so
 * the test is conservative.
 *
 * @example
 * checkPointingGameFloor(report, { Pneumothorax: 0.96 }).holds;
 */
export function checkPointingGameFloor(
  report: PointingGameReport,
  perClassAuroc: Readonly<Record<string, number>>,
  floor: PointingGameFloorVerdict['floor'] = POINTING_GAME_FLOOR,
): PointingGameFloorVerdict {
  const o = report.overall;
  const pValue = binomialUpperTail(o.tolerantHits, o.trials, o.tolerantChance);
  const overall = {
    trials: o.trials,
    tolerantHits: o.tolerantHits,
    tolerantChance: o.tolerantChance,
    pValue,
    holds: o.tolerantAccuracy > o.tolerantChance && pValue < floor.significance,
  };
  const detected = Object.entries(report.classes)
    .filter(([c]) => (perClassAuroc[c] ?? 0) >= floor.detectedAuroc)
    .map(([className, r]) => ({
      className,
      auroc: perClassAuroc[className]!,
      tolerantAccuracy: r.tolerantAccuracy,
      tolerantChance: r.tolerantChance,
      holds: r.tolerantAccuracy >= floor.detectedRatio * r.tolerantChance,
    }));
  return { floor: { ...floor }, overall, detected, holds: overall.holds && detected.every((d) => d.holds) };
}

/** P(X >= k) for X ~ Binomial(n, p), summed in log space (n in the thousands stays exact to rounding). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  let logC = 0; // log C(n, i), built up from i = 0
  let sum = 0;
  for (let i = 0; i <= n; i++) {
    if (i > 0) logC += Math.log((n - i + 1) / i);
    if (i >= k) sum += Math.exp(logC + i * Math.log(p) + (n - i) * Math.log1p(-p));
  }
  return Math.min(1, sum);
}
