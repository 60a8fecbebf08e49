import { DataError, MODEL_SPEC_FILE, RUN_FILES, loadBlockWeights, runFolder, type BlockSpec } from '@multichexnet/core';
import { configuredTasks, type ModelSpec, type MultiCheXNet } from '@multichexnet/model';
import type { TrainingPlan } from '../plan/plan-schema';

/** A plan's `init` folder, read: where its model.json is, its block specs, and the preprocessing it recorded. */
export interface InitSource {
  /** The folder holding model.json (the run's `weights/`, or the folder itself). */
  weightsDir: string;
  spec: ModelSpec;
  preprocess: Record<string, unknown> | null;
}

async function readJson(path: string): Promise<Record<string, unknown> | null> {
  const fs = await import('node:fs/promises');
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch {
    return null;
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new DataError('Init file is not valid JSON', { file: path, found: (e as Error).message }, { cause: e });
  }
}

/** Reads the folder a plan's `init` names (a run folder with weights/, or a weights folder). Node only. */
export async function readInitSource(dir: string): Promise<InitSource> {
  const { join } = await import('node:path');
  for (const weightsDir of [runFolder(dir).weights, dir]) {
    const spec = (await readJson(join(weightsDir, MODEL_SPEC_FILE))) as ModelSpec | null;
    if (spec === null) continue;
    if (spec.format !== 'multichexnet-model' || spec.blocks?.encoder === undefined) {
      throw new DataError("The plan's init is not a MultiCheXNet model", {
        file: join(weightsDir, MODEL_SPEC_FILE),
        field: 'format',
        expected: 'multichexnet-model with an encoder',
        found: String(spec.format),
      });
    }
    const plan = (await readJson(runFolder(dir).plan)) ?? (await readJson(join(weightsDir, '..', RUN_FILES.plan)));
    const preprocess =
      plan !== null && typeof plan.preprocess === 'object' && plan.preprocess !== null
        ? (plan.preprocess as Record<string, unknown>)
        : null;
    return { weightsDir, spec, preprocess };
  }
  throw new DataError("The plan's init folder holds no model", {
    file: dir,
    field: 'init',
    expected: 'a run folder with weights/model.json, or a folder with model.json',
    found: 'neither',
  });
}

function configOf(spec: BlockSpec): Record<string, unknown> {
  const { featureChannels: _fc, ...rest } = spec.config as Record<string, unknown>;
  return rest;
}

/**
 * The plan with its `init` applied to the model and preprocessing sections: the init's encoder config (and each task's
 * head config, when both have that task) replace the plan's, its preprocessing (except `size` and `augment`) replaces
 * the plan's. What `train` writes as plan.json, so eval, export and predict see what the weights need.
 */
export function applyInit(plan: TrainingPlan, init: InitSource): TrainingPlan {
  const blocks = init.spec.blocks;
  const model: TrainingPlan['model'] = { ...plan.model, encoder: configOf(blocks.encoder!) };
  for (const task of configuredTasks(plan.model))
    if (blocks[task] !== undefined)
      model[task] = { ...(plan.model[task] as Record<string, unknown>), ...configOf(blocks[task]) };
  const { size: _size, augment: _augment, ...normalisation } = init.preprocess ?? {};
  return { ...plan, model, preprocess: { ...plan.preprocess, ...normalisation } as TrainingPlan['preprocess'] };
}

/** Loads the weights of every block the init folder holds into the model's block of the same name. */
export async function loadInitWeights(model: MultiCheXNet, init: InitSource): Promise<string[]> {
  const { join } = await import('node:path');
  const loaded: string[] = [];
  for (const [name, block] of model.blocks()) {
    const s = init.spec.blocks[name];
    if (s === undefined) continue;
    await loadBlockWeights(block, join(init.weightsDir, s.file));
    loaded.push(name);
  }
  return loaded;
}
