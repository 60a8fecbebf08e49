import {
  deserializeBlock,
  encodeBlockWeights,
  loadBlockWeightsFromBytes,
  serializeBlock,
  type Block,
  type TaskHead,
} from '@multichexnet/core';
import type { Encoder } from '@multichexnet/core-encoder';
import { createGate, type Gate } from '@multichexnet/gating';
import { BUILTIN_TASKS, createMultiCheXNet, type MultiCheXNet } from '@multichexnet/model';

type AnyBlock = Block<unknown, unknown, unknown>;

async function cloneBlock<B extends AnyBlock>(block: B): Promise<B> {
  const copy = deserializeBlock<B>(serializeBlock(block));
  try {
    await loadBlockWeightsFromBytes(copy, await encodeBlockWeights(block), `${block.className} (clone)`);
  } catch (e) {
    copy.dispose();
    throw e;
  }
  return copy;
}

/**
 * An independent copy of a model: every block rebuilt from its spec (registry) and given the same weights (BatchNorm
 * statistics included) through the weight-file bytes (safetensors), the gate with its threshold. Training the copy
 * leaves the original untouched.
 *
 * @example
 * const copy = await cloneModel(model);   // copy.forward(x) equals model.forward(x)
 */
export async function cloneModel(model: MultiCheXNet): Promise<MultiCheXNet> {
  const made: AnyBlock[] = [];
  try {
    const encoder = await cloneBlock(model.encoder as unknown as AnyBlock);
    made.push(encoder);
    const heads: Record<string, TaskHead> = {};
    for (const task of model.tasks) {
      const h = await cloneBlock(model.heads[task] as unknown as AnyBlock);
      made.push(h);
      heads[task] = h as unknown as TaskHead;
    }
    let gate: Gate | null = null;
    if (model.gate !== null) {
      gate = createGate(model.gate.config);
      if (gate.head !== null) {
        made.push(gate.head as unknown as AnyBlock);
        await loadBlockWeightsFromBytes(
          gate.head as unknown as AnyBlock,
          await encodeBlockWeights(model.gate.head as unknown as AnyBlock),
          'gate (clone)',
        );
      }
    }
    return createMultiCheXNet({
      encoder: encoder as unknown as Encoder,
      heads,
      gate,
      tasks: model.taskSpecs.filter((s) => !BUILTIN_TASKS.includes(s)),
    });
  } catch (e) {
    for (const b of made) b.dispose();
    throw e;
  }
}
