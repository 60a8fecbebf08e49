import { DataError, deserializeBlock, loadBlockWeights, type Block } from '@multichexnet/core';
import type { Encoder } from '@multichexnet/core-encoder';
import type { ClsHead } from '@multichexnet/head-cls';
import type { DetHead } from '@multichexnet/head-det';
import type { SegHead } from '@multichexnet/head-seg';
import { createGate, type Gate } from '@multichexnet/gating';
import { createMultiCheXNet, type HeadSet, type ModelSpec, type MultiCheXNet } from './multichexnet';

/**
 * Rebuilds a model saved with `model.save(dir)`: every block from its spec (registry), then its weights
 * (checksums verified), then the gate from its config. Node only.
 *
 * @example
 * const model = await loadMultiCheXNet('runs/exp1/weights');
 * const [p] = model.predict(images);   // { probabilities, gate, boxes, mask }
 */
export async function loadMultiCheXNet(dir: string): Promise<MultiCheXNet<HeadSet>> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  const file = join(dir, 'model.json');
  let spec: ModelSpec;
  try {
    spec = JSON.parse(await fs.readFile(file, 'utf8')) as ModelSpec;
  } catch (e) {
    throw new DataError('Cannot read the model spec', { file, found: (e as Error).message }, { cause: e });
  }
  if (spec.format !== 'multichexnet-model' || spec.blocks?.encoder === undefined) {
    throw new DataError('Not a MultiCheXNet model folder', { file, field: 'format', expected: 'multichexnet-model with an encoder', found: String(spec.format) });
  }
  const built: Block<unknown, unknown, unknown>[] = [];
  try {
    const make = async <B extends Block<unknown, unknown, unknown>>(name: keyof ModelSpec['blocks']): Promise<B | undefined> => {
      const s = spec.blocks[name];
      if (s === undefined) return undefined;
      const block = deserializeBlock<B>(s);
      built.push(block);
      await loadBlockWeights(block, join(dir, s.file));
      return block;
    };
    const encoder = (await make<Encoder>('encoder'))!;
    const heads: HeadSet = {};
    const cls = await make<ClsHead>('cls');
    const det = await make<DetHead>('det');
    const seg = await make<SegHead>('seg');
    if (cls) heads.cls = cls;
    if (det) heads.det = det;
    if (seg) heads.seg = seg;
    let gate: Gate | null = null;
    if (spec.gate !== null && spec.gate !== undefined) {
      gate = createGate(spec.gate);
      if (gate.head !== null) {
        built.push(gate.head);
        const s = spec.blocks.gate;
        if (s === undefined) throw new DataError('Model spec has a binary-head gate but no gate weights', { file, field: 'blocks.gate', expected: 'a block spec', found: 'missing' });
        await loadBlockWeights(gate.head, join(dir, s.file));
      }
    }
    return createMultiCheXNet({ encoder, heads, gate });
  } catch (e) {
    for (const b of built) b.dispose();
    throw e;
  }
}
