import { DataError } from '@multichexnet/core';
import type { AttrValue, Value } from '../onnx/graph-builder';
import type { ConvertArgs } from './converter';
import { pair } from './layer-weights';

/**
 * `UpSampling2D` as ONNX Resize. tfjs calls `tf.image.resizeNearestNeighbor` / `resizeBilinear` with
 * alignCorners = false and halfPixelCenters = false, i.e. source coordinate = output coordinate * in / out with
 * no half-pixel shift: Resize's `asymmetric` transform; nearest rounds that coordinate down (`floor`).
 */
export function convertUpSampling2D(args: ConvertArgs): Value {
  const { gb, layer, config, base } = args;
  const x = gb.toNchw(args.inputs[0]!);
  const [sh, sw] = pair(config.size as number | number[], 2);
  const interpolation = (config.interpolation as string | undefined) ?? 'nearest';
  if (interpolation !== 'nearest' && interpolation !== 'bilinear') {
    throw new DataError('UpSampling2D interpolation not supported by the ONNX exporter', {
      field: `${layer.name} (UpSampling2D)`,
      expected: "'nearest' or 'bilinear'",
      found: interpolation,
    });
  }
  const scales = gb.floats(`${base}/scales`, [4], [1, 1, sh, sw]);
  const attrs: Record<string, AttrValue> =
    interpolation === 'nearest'
      ? { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }
      : { mode: 'linear', coordinate_transformation_mode: 'asymmetric' };
  const [name] = gb.node('Resize', [x.name, '', scales], attrs, base);
  return { name: name!, shape: args.outShape, layout: 'nchw' };
}
