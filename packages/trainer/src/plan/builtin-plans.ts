import { ConfigError, parseConfig } from '@multichexnet/core';
import type { PhaseInput, TrainingPlan, TrainingPlanInput } from './plan-schema';
import { TrainingPlanSchema } from './plan-schema';

/** Names of the built-in plans. */
export const BUILTIN_PLANS = [
  'multichexnet-joint',
  'multichexnet-alternating',
  'bigbang',
  'single-cls',
  'single-det',
  'single-seg',
] as const;
/** One of {@link BUILTIN_PLANS}. */
export type BuiltinPlanName = (typeof BUILTIN_PLANS)[number];
/**
 * Size variants: `tiny` runs the whole protocol in minutes on 2 CPU cores; `small` is the same protocol (tiny's step
 * counts) on `full`'s model at 256 px; `full` is the paper-scale default.
 */
export const PLAN_SIZES = ['tiny', 'small', 'full'] as const;
/** One of {@link PLAN_SIZES}. */
export type PlanSize = (typeof PLAN_SIZES)[number];

/** The numbers a size variant fixes. */
interface SizeTable {
  imageSize: number;
  batchSize: number;
  encoder: Record<string, unknown>;
  det: Record<string, unknown>;
  seg: Record<string, unknown>;
  learningRate: number;
  /** Steps of: stage 1 (cls on NIH), the cls part of stages 2 / 3, the det / seg part of stages 2 / 3, stage 4. */
  steps: { nihCls: number; stageCls: number; stageHead: number; mtl: number };
  evalEvery: number;
  checkpointEvery: number;
}

/*
 * Tiny: the whole protocol in minutes on 2 CPU cores (what it costs: `node bench/run.mjs --only training-sizes`).
 * MTL gets 300 steps: at 150 the joint model's gate and heads had not recovered from pre-training on the
 * development seeds (the decision and its evidence: `decisions` in @multichexnet/experiments' protocol.json).
 */
const TINY: SizeTable = {
  imageSize: 128,
  batchSize: 16,
  encoder: { preset: 'densenet-tiny' },
  det: { hiddenChannels: 32, hiddenLayers: 1 },
  seg: { decoderChannels: 16 },
  learningRate: 3e-3,
  steps: { nihCls: 100, stageCls: 30, stageHead: 150, mtl: 300 },
  evalEvery: 75,
  checkpointEvery: 50,
};

const FULL: SizeTable = {
  imageSize: 256,
  batchSize: 16,
  encoder: { preset: 'densenet-small' },
  // Heads proportionate to the encoder: one pass beats three single-task models by (3E + H) / (E + H) (encoder
  // cost E, heads H), so the shared encoder pays off only while H is well under E. The seg decoder's stride-4 3x3
  // conv costs D^2, so det 1 x 128 and D = 16 keep the heads small next to densenet-small (the ratio at batch 1 /
  // 16: `node bench/run.mjs --only onnx-inference`).
  det: { hiddenChannels: 128, hiddenLayers: 1 },
  seg: { decoderChannels: 16 },
  learningRate: 1e-3,
  steps: { nihCls: 6000, stageCls: 1500, stageHead: 3000, mtl: 8000 },
  evalEvery: 500,
  checkpointEvery: 500,
};

const SIZES: Record<PlanSize, SizeTable> = {
  tiny: TINY,
  // The tiny protocol on the default model: full's densenet-small, heads, 256 px and learning rate, tiny's step counts
  // and cadence. What it costs per step and in all: `node bench/run.mjs --only training-sizes`.
  small: { ...FULL, steps: TINY.steps, evalEvery: TINY.evalEvery, checkpointEvery: TINY.checkpointEvery },
  full: FULL,
};

function phase(
  t: SizeTable,
  p: Omit<PhaseInput, 'batchSize' | 'optimizer' | 'evalEvery' | 'checkpointEvery'> & Partial<PhaseInput>,
): PhaseInput {
  return {
    batchSize: t.batchSize,
    optimizer: { type: 'adam', learningRate: t.learningRate },
    schedule: { type: 'cosine', warmupSteps: Math.min(20, Math.floor(p.steps / 10)), minFactor: 0.05 },
    evalEvery: t.evalEvery,
    checkpointEvery: t.checkpointEvery,
    restoreBest: false,
    ...p,
  };
}

/**
 * Algorithm 1, stages 1-3: cls on NIH; cls then det on RSNA; cls then seg on SIIM. The encoder learns in every
 * stage: det and seg need localising features the global-pooling cls loss never asks for, and CheXDet on an
 * encoder frozen after the cls stages stayed near chance on the development seeds.
 *
 * In stages 2b and 3b CheXCls keeps learning its dataset's label (Pneumonia / Pneumothorax) on the same batches.
 * Without it the encoder's det / seg steps move its features away from the frozen cls head, and on the
 * development seeds the pre-trained gate (CheXCls's output) fell to chance, which MTL could not repair. The gate
 * is CheXCls's output, so the stages that train det / seg behind it must not break it (protocol.json decisions).
 */
function pretrainPhases(t: SizeTable): PhaseInput[] {
  const tf = { type: 'teacher-forcing' as const, p: 0.9 };
  return [
    phase(t, {
      name: 'pretrain-nih-cls',
      stage: 'pretrain',
      description: 'Stage 1: encoder + CheXCls on NIH',
      trainable: ['encoder', 'cls'],
      batches: [{ datasets: ['nih'], tasks: ['cls'] }],
      steps: t.steps.nihCls,
    }),
    phase(t, {
      name: 'pretrain-rsna-cls',
      stage: 'pretrain',
      description: 'Stage 2a: encoder + CheXCls on RSNA (Pneumonia)',
      trainable: ['encoder', 'cls'],
      batches: [{ datasets: ['rsna'], tasks: ['cls'] }],
      steps: t.steps.stageCls,
    }),
    phase(t, {
      name: 'pretrain-rsna-det',
      stage: 'pretrain',
      description: 'Stage 2b: encoder + CheXDet on RSNA, teacher-forced by the gate; CheXCls keeps learning Pneumonia',
      trainable: ['encoder', 'cls', 'det'],
      batches: [{ datasets: ['rsna'], tasks: ['cls', 'det'] }],
      steps: t.steps.stageHead,
      routing: tf,
    }),
    phase(t, {
      name: 'pretrain-siim-cls',
      stage: 'pretrain',
      description: 'Stage 3a: encoder + CheXCls on SIIM (Pneumothorax)',
      trainable: ['encoder', 'cls'],
      batches: [{ datasets: ['siim'], tasks: ['cls'] }],
      steps: t.steps.stageCls,
    }),
    phase(t, {
      name: 'pretrain-siim-seg',
      stage: 'pretrain',
      description:
        'Stage 3b: encoder + CheXSeg on SIIM, teacher-forced by the gate; CheXCls keeps learning Pneumothorax',
      trainable: ['encoder', 'cls', 'seg'],
      batches: [{ datasets: ['siim'], tasks: ['cls', 'seg'] }],
      steps: t.steps.stageHead,
      routing: tf,
    }),
  ];
}

/**
 * MTL loss weights. CheXDet's loss is a YOLO sum over every anchor of an image, an order of magnitude above the
 * cls and seg losses, which are means: with the paper's plain sum the box
 * regression alone would steer the shared encoder. With Adam a single task's scale does not matter, so only the
 * ratio between tasks is set here; `{ type: 'equal' }` restores the paper's sum.
 */
const MTL_WEIGHTING = { type: 'fixed' as const, weights: { det: 0.1 } };

/*
 * Joint MTL trains CheXDet on the RSNA rows only. Boxes derived from the SIIM pneumothorax masks (`detFromMasks`)
 * taught the det head a second, differently shaped finding that RSNA never scores, and lowered its RSNA mAP on the
 * development seeds (protocol.json decisions).
 */
function mtlJoint(t: SizeTable, name: string, steps: number, stage: 'mtl'): PhaseInput {
  return phase(t, {
    name,
    stage,
    lossWeighting: MTL_WEIGHTING,
    description:
      'Joint MTL: NIH, RSNA and SIIM samples mixed in each batch, all three losses on one batch (each masked to the rows that carry its label)',
    trainable: ['encoder', 'cls', 'det', 'seg'],
    batches: [{ datasets: ['nih', 'rsna', 'siim'], tasks: ['cls', 'det', 'seg'] }],
    steps,
    routing: { type: 'teacher-forcing', p: 0.9 },
  });
}

function mtlAlternating(t: SizeTable, steps: number): PhaseInput {
  return phase(t, {
    name: 'mtl-alternating',
    stage: 'mtl',
    lossWeighting: MTL_WEIGHTING,
    description:
      'Alternating MTL: one NIH batch for cls, one RSNA batch for cls + det, one SIIM batch for cls + seg; the encoder learns from all',
    trainable: ['encoder', 'cls', 'det', 'seg'],
    batches: [
      { datasets: ['nih'], tasks: ['cls'] },
      { datasets: ['rsna'], tasks: ['cls', 'det'] },
      { datasets: ['siim'], tasks: ['cls', 'seg'] },
    ],
    steps,
    routing: { type: 'teacher-forcing', p: 0.9 },
  });
}

/** Steps of the whole MultiCheXNet protocol (pre-training + MTL): BigBang's budget. */
function protocolSteps(t: SizeTable): number {
  return t.steps.nihCls + 2 * t.steps.stageCls + 2 * t.steps.stageHead + t.steps.mtl;
}

/**
 * Steps in which a plan trains a block: a single-task baseline gets as many updates of its head (and the encoder)
 * as MultiCheXNet gives that head over the whole protocol.
 */
export function stepsTraining(
  phases: readonly Pick<PhaseInput, 'trainable' | 'steps'>[],
  block: 'cls' | 'det' | 'seg',
): number {
  return phases.filter((p) => p.trainable.includes(block)).reduce((s, p) => s + p.steps, 0);
}

/** The single-task baselines: each head with the encoder on its source's every image. */
const SINGLE_TASK = {
  cls: { source: 'nih', description: 'Single-task baseline: encoder + CheXCls on NIH' },
  det: {
    source: 'rsna',
    description: 'Single-task baseline: encoder + CheXDet on RSNA (every image, negatives included)',
  },
  seg: {
    source: 'siim',
    description: 'Single-task baseline: encoder + CheXSeg on SIIM (every image, negatives included)',
  },
} as const;

function model(
  t: SizeTable,
  heads: { cls?: boolean; det?: boolean; seg?: boolean; gate?: boolean },
): TrainingPlanInput['model'] {
  return {
    encoder: t.encoder,
    ...(heads.cls ? { cls: {} } : {}),
    ...(heads.det ? { det: t.det } : {}),
    ...(heads.seg ? { seg: t.seg } : {}),
    ...(heads.gate ? { gate: { kind: 'cls-path' as const, classes: ['Pneumonia', 'Pneumothorax'] } } : {}),
  };
}

/**
 * A built-in plan as data (the input form; `parsePlan` resolves it). `seed` defaults to 0.
 *
 * - `multichexnet-joint` / `multichexnet-alternating`: Algorithm 1 (stages 1-3) then joint / alternating MTL.
 *   Their pre-training phases are identical (same names, same seed), so an experiment trains them once.
 * - `bigbang`: joint MTL from random weights, as many steps as the whole protocol.
 * - `single-cls` / `single-det` / `single-seg`: one head on the same encoder, as many steps as the protocol trains
 *   that head (e.g. det: stage 2b + MTL).
 *
 * @example
 * const plan = builtinPlan('multichexnet-joint', { size: 'tiny', seed: 7 });
 */
export function builtinPlan(
  name: BuiltinPlanName,
  options: { size?: PlanSize; seed?: number } = {},
): TrainingPlanInput {
  const size = options.size ?? 'full';
  const t = SIZES[size];
  if (t === undefined) {
    throw new ConfigError('plan options', [
      {
        path: 'size',
        rule: `must be one of ${PLAN_SIZES.map((s) => JSON.stringify(s)).join(', ')}`,
        received: JSON.stringify(size),
      },
    ]);
  }
  const base = { name: `${name}-${size}`, seed: options.seed ?? 0, imageSize: t.imageSize };
  const total = protocolSteps(t);
  const protocol = [...pretrainPhases(t), mtlJoint(t, 'mtl-joint', t.steps.mtl, 'mtl')];
  switch (name) {
    case 'multichexnet-joint':
      return {
        ...base,
        description: 'MultiCheXNet: Algorithm 1 pre-training, then joint multi-task training',
        model: model(t, { cls: true, det: true, seg: true, gate: true }),
        phases: [...pretrainPhases(t), mtlJoint(t, 'mtl-joint', t.steps.mtl, 'mtl')],
      };
    case 'multichexnet-alternating':
      return {
        ...base,
        description: 'MultiCheXNet: Algorithm 1 pre-training, then alternating multi-task training',
        model: model(t, { cls: true, det: true, seg: true, gate: true }),
        phases: [...pretrainPhases(t), mtlAlternating(t, t.steps.mtl)],
      };
    case 'bigbang':
      return {
        ...base,
        description: 'BigBang: joint multi-task training from random weights, no pre-training',
        model: model(t, { cls: true, det: true, seg: true, gate: true }),
        phases: [mtlJoint(t, 'bigbang', total, 'mtl')],
      };
    case 'single-cls':
    case 'single-det':
    case 'single-seg': {
      const task = name.slice('single-'.length) as keyof typeof SINGLE_TASK;
      return {
        ...base,
        description: SINGLE_TASK[task].description,
        model: model(t, { [task]: true }),
        phases: [
          phase(t, {
            name,
            stage: 'single',
            trainable: ['encoder', task],
            batches: [{ datasets: [SINGLE_TASK[task].source], tasks: [task] }],
            steps: stepsTraining(protocol, task),
          }),
        ],
      };
    }
    default:
      throw new ConfigError('plan options', [
        {
          path: 'name',
          rule: `must be one of ${BUILTIN_PLANS.map((s) => JSON.stringify(s)).join(', ')}`,
          received: JSON.stringify(name),
        },
      ]);
  }
}

/**
 * Validates a plan (ConfigError naming each field, e.g. `phases.2.steps: must be > 0; received 0`) and fills
 * every default.
 */
export function parsePlan(input: unknown): TrainingPlan {
  return parseConfig(TrainingPlanSchema, input, 'training plan');
}

/**
 * A plan from a built-in name (`multichexnet-joint`, `multichexnet-joint:tiny`), a path to a JSON file, or a plan
 * object. Node only for paths.
 *
 * @example
 * const plan = await loadPlan('multichexnet-alternating:tiny');
 */
export async function loadPlan(
  source: string | TrainingPlanInput,
  options: { seed?: number } = {},
): Promise<TrainingPlan> {
  if (typeof source !== 'string') return parsePlan(source);
  const [name, size] = source.split(':') as [string, string | undefined];
  if ((BUILTIN_PLANS as readonly string[]).includes(name)) {
    return parsePlan(
      builtinPlan(name as BuiltinPlanName, {
        size: (size ?? 'full') as PlanSize,
        ...(options.seed !== undefined ? { seed: options.seed } : {}),
      }),
    );
  }
  const fs = await import('node:fs/promises');
  let text: string;
  try {
    text = await fs.readFile(source, 'utf8');
  } catch (e) {
    throw new ConfigError('training plan', [
      {
        path: '',
        rule: `must be a built-in plan (${BUILTIN_PLANS.join(', ')}) or a readable JSON file`,
        received: JSON.stringify(source),
      },
    ]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError('training plan', [
      { path: '', rule: `must be valid JSON (${(e as Error).message})`, received: JSON.stringify(source) },
    ]);
  }
  return parsePlan(json);
}
