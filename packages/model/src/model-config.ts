import { ConfigError, deriveSeed, z, type AnyTaskSpec, type TaskHead } from '@multichexnet/core';
import { createEncoder } from '@multichexnet/core-encoder';
import { createGate, type Gate } from '@multichexnet/gating';
import { createMultiCheXNet, ENCODER_BLOCK, GATE_BLOCK, type MultiCheXNet } from './multichexnet';
import { taskTable } from './table';

// The block configs are validated by their own factories (one schema per config, in its package); here they pass
// through as objects and their ConfigErrors are re-labelled with the plan path (model.cls.hidden, ...).
const blockConfig = z.record(z.string(), z.unknown());

/** The gate of a model config. */
const GateSectionSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('cls-path'),
      /** The task whose class probabilities the gate reads (default CheXCls). */
      task: z.string().min(1).default('cls'),
      classes: z.array(z.string()).min(1).default(['Pneumonia', 'Pneumothorax']),
      threshold: z.number().min(0).max(1).default(0.5),
      reduce: z.enum(['max', 'any']).default('max'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('binary-head'),
      head: blockConfig.default({}),
      threshold: z.number().min(0).max(1).default(0.5),
    })
    .strict(),
]);

/**
 * The model of a training plan: the encoder, one entry per task (its head config without `featureChannels`, taken
 * from the encoder) and the gate. Keys besides `encoder` and `gate` name tasks of the task table (`cls`, `det`,
 * `seg`, or a user task whose spec `buildModel` is given). By default, seeds derive from the plan seed. A task left
 * out is not built.
 */
export const ModelConfigSchema = z
  .object({
    /** CheXEnc config (`createEncoder`), default the `densenet-tiny` preset. */
    encoder: blockConfig.default({ preset: 'densenet-tiny' }),
    /**
     * The gate: `{ kind: 'cls-path', task?, classes?, threshold?, reduce? }` (classNames come from the task's head;
     * classes default Pneumonia and Pneumothorax) or `{ kind: 'binary-head', head?, threshold? }`.
     */
    gate: GateSectionSchema.optional(),
  })
  .catchall(blockConfig);
/** What a plan writes under `model`. */
export type ModelConfigInput = z.input<typeof ModelConfigSchema>;
/** The resolved model section. */
export type ModelConfig = z.output<typeof ModelConfigSchema>;

/** The task entries of a model config, in their written order. */
export function configuredTasks(config: ModelConfigInput | ModelConfig): string[] {
  return Object.keys(config).filter(
    (k) => k !== ENCODER_BLOCK && k !== GATE_BLOCK && (config as Record<string, unknown>)[k] !== undefined,
  );
}

function relabel<T>(path: string, build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (e instanceof ConfigError) {
      throw new ConfigError(
        'model config',
        e.issues.map((i) => ({ ...i, path: i.path === '' ? path : `${path}.${i.path}` })),
      );
    }
    throw e;
  }
}

/**
 * Builds the model a plan describes: the encoder first, every task's head from its spec on the encoder's
 * `featureChannels`, the gate last. Seeds not given are derived from `seed` per block, so one plan seed fixes every
 * initial weight. A task name the table does not know is a ConfigError naming it.
 *
 * @example
 * const model = buildModel({ encoder: { preset: 'densenet-tiny' }, cls: {}, det: { hiddenChannels: 32 }, gate: { kind: 'cls-path' } }, 7);
 * const withLungs = buildModel({ cls: {}, lung: { channels: 8 } }, 7, { tasks: [lungTask] });
 */
export function buildModel(
  config: ModelConfig,
  seed: number,
  options: { tasks?: readonly AnyTaskSpec[] } = {},
): MultiCheXNet {
  const table = taskTable(options.tasks);
  const names = configuredTasks(config);
  const unknown = names.filter((n) => !table.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new ConfigError(
      'model config',
      unknown.map((n) => ({
        path: `model.${n}`,
        rule: `must name a task of the table (${table.map((s) => s.name).join(', ')}), the encoder or the gate`,
        received: JSON.stringify(config[n]),
      })),
    );
  }
  const seeded = (name: string, c: Record<string, unknown>): Record<string, unknown> => ({
    seed: deriveSeed(seed, name),
    ...c,
  });
  const encoder = relabel('model.encoder', () => createEncoder(seeded(ENCODER_BLOCK, config.encoder)));
  const featureChannels = encoder.featureChannels;
  const heads: Record<string, TaskHead> = {};
  let gate: Gate | null = null;
  try {
    for (const spec of table.filter((s) => names.includes(s.name))) {
      heads[spec.name] = relabel(`model.${spec.name}`, () =>
        spec.createHead(seeded(spec.name, config[spec.name] as Record<string, unknown>), featureChannels),
      );
    }
    const g = config.gate;
    if (g?.kind === 'cls-path') {
      const spec = table.find((s) => s.name === g.task);
      if (heads[g.task] === undefined || spec?.classesOf === undefined) {
        throw new ConfigError('model config', [
          {
            path: 'model.gate',
            rule: `a cls-path gate needs model.${g.task}, a task with classes (or use kind 'binary-head')`,
            received: JSON.stringify(g),
          },
        ]);
      }
      const classNames = [...spec.classesOf(heads[g.task])];
      gate = relabel('model.gate', () =>
        createGate({
          kind: 'cls-path',
          task: g.task,
          classes: g.classes,
          classNames,
          threshold: g.threshold,
          reduce: g.reduce,
        }),
      );
    } else if (g?.kind === 'binary-head') {
      gate = relabel('model.gate', () =>
        createGate({
          kind: 'binary-head',
          head: { ...seeded(GATE_BLOCK, g.head), featureChannels } as never,
          threshold: g.threshold,
        }),
      );
    }
    return createMultiCheXNet({ encoder, heads, gate, tasks: options.tasks });
  } catch (e) {
    encoder.dispose();
    for (const h of Object.values(heads)) h.dispose();
    gate?.dispose();
    throw e;
  }
}
