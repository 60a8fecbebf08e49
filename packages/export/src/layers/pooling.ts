import type { Value } from '../onnx/graph-builder';
import type { ConvertArgs } from './converter';
import { windowPadding } from './conv';
import { pair } from './layer-weights';

function pool(op: 'MaxPool' | 'AveragePool', args: ConvertArgs): Value {
  const { gb, layer, config, base } = args;
  const x = gb.toNchw(args.inputs[0]!);
  const kernel = pair(config.poolSize as number | number[], 2);
  const strides = pair((config.strides as number | number[] | null) ?? kernel, 1);
  // AveragePool's default count_include_pad = 0 matches TF: padded cells do not count in the mean.
  const attrs = {
    kernel_shape: kernel,
    strides,
    ...windowPadding(config.padding as string, x, kernel, strides, [1, 1], `${layer.name} (${layer.getClassName()})`),
  };
  const [name] = gb.node(op, [x.name], attrs, base);
  return { name: name!, shape: args.outShape, layout: 'nchw' };
}

/** `MaxPooling2D`. */
export function convertMaxPooling2D(args: ConvertArgs): Value {
  return pool('MaxPool', args);
}

/** `AveragePooling2D`. */
export function convertAveragePooling2D(args: ConvertArgs): Value {
  return pool('AveragePool', args);
}

function globalPool(op: 'GlobalAveragePool' | 'GlobalMaxPool', args: ConvertArgs): Value {
  const { gb, base } = args;
  const x = gb.toNchw(args.inputs[0]!);
  const [pooled] = gb.node(op, [x.name], {}, `${base}_pool`);
  // [B, C, 1, 1] -> [B, C], the tfjs output.
  const [name] = gb.node('Flatten', [pooled!], { axis: 1 }, base);
  return { name: name!, shape: args.outShape, layout: 'plain' };
}

/** `GlobalAveragePooling2D` -> [B, C]. */
export function convertGlobalAveragePooling2D(args: ConvertArgs): Value {
  return globalPool('GlobalAveragePool', args);
}

/** `GlobalMaxPooling2D` -> [B, C]. */
export function convertGlobalMaxPooling2D(args: ConvertArgs): Value {
  return globalPool('GlobalMaxPool', args);
}
