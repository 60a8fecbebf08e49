import {
  DataError,
  MODEL_SPEC_FILE,
  deserializeBlock,
  loadBlockWeights,
  type AnyTaskSpec,
  type Block,
  type TaskHead,
} from '@multichexnet/core';
import type { Encoder } from '@multichexnet/core-encoder';
import { createGate, type Gate } from '@multichexnet/gating';
import { createMultiCheXNet, ENCODER_BLOCK, GATE_BLOCK, type ModelSpec, type MultiCheXNet } from './multichexnet';
import { specOf, taskTable } from './table';

/**
 * Rebuilds a model saved with `model.save(dir)`: every block from its spec (registry), then its weights (checksums
 * verified), then the gate from its config. A task outside the built-in table needs its spec in `tasks` (and its
 * head class registered, as importing its package does). Node only.
 *
 * @example
 * const model = await loadMultiCheXNet('runs/exp1/weights');
 * const [p] = model.predict(images);   // { probabilities, gate, boxes, mask }
 */
export async function loadMultiCheXNet(
  dir: string,
  options: { tasks?: readonly AnyTaskSpec[] } = {},
): Promise<MultiCheXNet> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  const file = join(dir, MODEL_SPEC_FILE);
  let spec: ModelSpec;
  try {
    spec = JSON.parse(await fs.readFile(file, 'utf8')) as ModelSpec;
  } catch (e) {
    throw new DataError('Cannot read the model spec', { file, found: (e as Error).message }, { cause: e });
  }
  if (spec.format !== 'multichexnet-model' || spec.blocks?.[ENCODER_BLOCK] === undefined) {
    throw new DataError('Not a MultiCheXNet model folder', {
      file,
      field: 'format',
      expected: 'multichexnet-model with an encoder',
      found: String(spec.format),
    });
  }
  const table = taskTable(options.tasks);
  const tasks = spec.tasks ?? Object.keys(spec.blocks).filter((n) => n !== ENCODER_BLOCK && n !== GATE_BLOCK);
  for (const t of tasks) specOf(table, t, `${file}: tasks`);
  const built: Block<unknown, unknown, unknown>[] = [];
  try {
    const make = async <B extends Block<unknown, unknown, unknown>>(name: string): Promise<B> => {
      const s = spec.blocks[name];
      if (s === undefined)
        throw new DataError('Model spec lacks the block of a task', {
          file,
          field: `blocks.${name}`,
          expected: 'a block spec',
          found: 'missing',
        });
      const block = deserializeBlock<B>(s);
      built.push(block);
      await loadBlockWeights(block, join(dir, s.file));
      return block;
    };
    const encoder = await make<Encoder>(ENCODER_BLOCK);
    const heads: Record<string, TaskHead> = {};
    for (const t of tasks) heads[t] = await make<TaskHead>(t);
    let gate: Gate | null = null;
    if (spec.gate !== null && spec.gate !== undefined) {
      gate = createGate(spec.gate);
      if (gate.head !== null) {
        built.push(gate.head);
        const s = spec.blocks[GATE_BLOCK];
        if (s === undefined)
          throw new DataError('Model spec has a binary-head gate but no gate weights', {
            file,
            field: 'blocks.gate',
            expected: 'a block spec',
            found: 'missing',
          });
        await loadBlockWeights(gate.head, join(dir, s.file));
      }
    }
    return createMultiCheXNet({ encoder, heads, gate, tasks: options.tasks });
  } catch (e) {
    for (const b of built) b.dispose();
    throw e;
  }
}
