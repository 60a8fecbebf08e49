import { DataError } from '@multichexnet/core';
import type { GraphBuilder, Value } from './onnx/graph-builder';
import { activationName } from './layers/activation';
import { batchNormAffine, isBatchNormLayer, readBatchNorm } from './layers/batch-norm';
import type { AffineFold } from './layers/converter';
import { LAYER_CONVERTERS } from './layers/converters';
import type { FlatGraph, FlatNode } from './flatten-model';

/** Layers a following BatchNorm can be folded into. */
const FOLDABLE = new Set(['Conv2D', 'Conv2DTranspose', 'Dense']);

/** The layer classes the exporter accepts (besides InputLayer, nested LayersModels and BatchNorm-like layers). */
export function supportedLayerClasses(): string[] {
  return Object.keys(LAYER_CONVERTERS).sort();
}

/** Statistics of one conversion, for reports and tests. */
export interface ConversionStats {
  layers: number;
  foldedBatchNorms: number;
}

/**
 * Emits the ONNX nodes of a flattened model into `gb`, given the values standing for its inputs; returns the
 * values of its outputs (still in their internal layout). A BatchNorm is folded into the Conv2D / Conv2DTranspose
 * / Dense right before it when that layer has a linear activation and nothing else reads its output.
 */
export function convertFlatGraph(
  gb: GraphBuilder,
  flat: FlatGraph,
  inputs: Value[],
  options: { foldBatchNorm: boolean },
): { outputs: Value[]; stats: ConversionStats } {
  const values = new Map<string, Value>();
  flat.inputs.forEach((inp, i) => values.set(inp.key, inputs[i]!));

  const readers = new Map<string, number>();
  for (const n of flat.nodes) for (const k of n.inputs) readers.set(k, (readers.get(k) ?? 0) + 1);
  for (const k of flat.outputs) readers.set(k, (readers.get(k) ?? 0) + 1);
  const producer = new Map<string, FlatNode>(flat.nodes.map((n) => [n.output, n]));

  const foldInto = new Map<FlatNode, FlatNode>();
  const folded = new Set<FlatNode>();
  if (options.foldBatchNorm) {
    for (const n of flat.nodes) {
      if (n.inputs.length !== 1 || !isBatchNormLayer(n.layer)) continue;
      const src = producer.get(n.inputs[0]!);
      if (src === undefined || !FOLDABLE.has(src.layer.getClassName())) continue;
      if (readers.get(n.inputs[0]!) !== 1 || foldInto.has(src)) continue;
      if (activationName((src.layer.getConfig() as Record<string, unknown>).activation) !== 'linear') continue;
      foldInto.set(src, n);
      folded.add(n);
    }
  }

  for (const n of flat.nodes) {
    const ins = n.inputs.map((k) => values.get(k)!);
    if (folded.has(n)) {
      // The producer already wrote the normalised (and, if fused, rectified) value.
      values.set(n.output, ins[0]!);
      continue;
    }
    const cls = n.layer.getClassName();
    const config = n.layer.getConfig() as Record<string, unknown>;
    const dataFormat = config.dataFormat as string | undefined;
    if (dataFormat !== undefined && dataFormat !== 'channelsLast') {
      throw new DataError('Only channelsLast layers can be exported to ONNX', {
        field: `${n.layer.name} (${cls})`,
        expected: 'channelsLast',
        found: dataFormat,
      });
    }
    const converter =
      LAYER_CONVERTERS[cls] ?? (isBatchNormLayer(n.layer) ? LAYER_CONVERTERS.BatchNormalization : undefined);
    if (converter === undefined) {
      throw new DataError(`Layer ${n.layer.name} of class ${cls} is not supported by the ONNX exporter`, {
        field: `${n.layer.name} (${cls})`,
        expected: `one of ${supportedLayerClasses().join(', ')}, a BatchNorm or a nested LayersModel`,
        found: cls,
      });
    }
    const bn = foldInto.get(n);
    let fold: AffineFold | null = null;
    if (bn !== undefined) {
      fold = batchNormAffine(readBatchNorm(bn.layer, bn.outShape.length), bn.layer.name);
      const channels = n.outShape[n.outShape.length - 1];
      if (channels !== fold.scale.length) {
        throw new DataError('BatchNorm channel count differs from the layer it follows', {
          field: `${bn.layer.name} after ${n.layer.name}`,
          expected: String(channels),
          found: String(fold.scale.length),
        });
      }
    }
    values.set(
      n.output,
      converter({ gb, layer: n.layer, config, inputs: ins, outShape: n.outShape, base: n.layer.name, fold }),
    );
  }
  return {
    outputs: flat.outputs.map((k) => values.get(k)!),
    stats: { layers: flat.nodes.length, foldedBatchNorms: folded.size },
  };
}
