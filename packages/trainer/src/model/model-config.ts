import { CHESTXRAY14_CLASSES, ConfigError, deriveSeed, z } from '@multichexnet/core';
import { createEncoder } from '@multichexnet/core-encoder';
import { createClsHead } from '@multichexnet/head-cls';
import { createDetHead } from '@multichexnet/head-det';
import { createSegHead } from '@multichexnet/head-seg';
import { createGate, type Gate } from '@multichexnet/gating';
import { createMultiCheXNet, type HeadSet, type MultiCheXNet } from './multichexnet';

// The block configs are validated by their own factories (one schema per config, in its package); here they pass
// through as objects and their ConfigErrors are re-labelled with the plan path (model.cls.hidden, ...).
const blockConfig = z.record(z.string(), z.unknown());

/**
 * The model of a training plan: block configs without `featureChannels` (taken from the encoder) and, by default,
 * seeds derived from the plan seed. A head left out is not built.
 */
export const ModelConfigSchema = z
  .object({
    /** CheXEnc config (`createEncoder`), default the `densenet-tiny` preset. */
    encoder: blockConfig.default({ preset: 'densenet-tiny' }),
    /** CheXCls config without featureChannels; `classes` default the 14 ChestX-ray14 labels. */
    cls: blockConfig.optional(),
    /** CheXDet config without featureChannels. */
    det: blockConfig.optional(),
    /** CheXSeg config without featureChannels. */
    seg: blockConfig.optional(),
    /**
     * The gate: `{ kind: 'cls-path', classes?, threshold?, reduce? }` (classNames come from the cls head; classes
     * default Pneumonia and Pneumothorax) or `{ kind: 'binary-head', head?, threshold? }`.
     */
    gate: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('cls-path'), classes: z.array(z.string()).min(1).default(['Pneumonia', 'Pneumothorax']), threshold: z.number().min(0).max(1).default(0.5), reduce: z.enum(['max', 'any']).default('max') }).strict(),
        z.object({ kind: z.literal('binary-head'), head: blockConfig.default({}), threshold: z.number().min(0).max(1).default(0.5) }).strict(),
      ])
      .optional(),
  })
  .strict();
/** What a plan writes under `model`. */
export type ModelConfigInput = z.input<typeof ModelConfigSchema>;
/** The resolved model section. */
export type ModelConfig = z.output<typeof ModelConfigSchema>;

function relabel<T>(path: string, build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (e instanceof ConfigError) {
      throw new ConfigError('model config', e.issues.map((i) => ({ ...i, path: i.path === '' ? path : `${path}.${i.path}` })));
    }
    throw e;
  }
}

/**
 * Builds the model a plan describes: the encoder first, every head on its `featureChannels`, the gate last.
 * Seeds not given are derived from `seed` per block, so one plan seed fixes every initial weight.
 *
 * @example
 * const model = buildModel({ encoder: { preset: 'densenet-tiny' }, cls: {}, det: { hiddenChannels: 32 }, gate: { kind: 'cls-path' } }, 7);
 */
export function buildModel(config: ModelConfig, seed: number): MultiCheXNet<HeadSet> {
  const seeded = (name: string, c: Record<string, unknown>): Record<string, unknown> => ({ seed: deriveSeed(seed, name), ...c });
  const encoder = relabel('model.encoder', () => createEncoder(seeded('encoder', config.encoder)));
  const featureChannels = encoder.featureChannels;
  const heads: HeadSet = {};
  let gate: Gate | null = null;
  try {
    if (config.cls) heads.cls = relabel('model.cls', () => createClsHead({ classes: [...CHESTXRAY14_CLASSES], ...seeded('cls', config.cls!), featureChannels } as never));
    if (config.det) heads.det = relabel('model.det', () => createDetHead({ ...seeded('det', config.det!), featureChannels } as never));
    if (config.seg) heads.seg = relabel('model.seg', () => createSegHead({ ...seeded('seg', config.seg!), featureChannels } as never));
    const g = config.gate;
    if (g?.kind === 'cls-path') {
      if (!heads.cls) {
        throw new ConfigError('model config', [{ path: 'model.gate', rule: "a cls-path gate needs model.cls (or use kind 'binary-head')", received: JSON.stringify(g) }]);
      }
      const classNames = heads.cls.config.classes;
      gate = relabel('model.gate', () => createGate({ kind: 'cls-path', classes: g.classes, classNames, threshold: g.threshold, reduce: g.reduce }));
    } else if (g?.kind === 'binary-head') {
      gate = relabel('model.gate', () => createGate({ kind: 'binary-head', head: { ...seeded('gate', g.head), featureChannels } as never, threshold: g.threshold }));
    }
    return createMultiCheXNet({ encoder, heads, gate });
  } catch (e) {
    encoder.dispose();
    for (const h of Object.values(heads)) (h as { dispose(): void }).dispose();
    gate?.dispose();
    throw e;
  }
}
