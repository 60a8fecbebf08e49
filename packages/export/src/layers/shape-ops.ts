import type { Value } from '../onnx/graph-builder';
import type { ConvertArgs } from './converter';

/** `Reshape`: on the tfjs (NHWC) layout; batch copied with ONNX's `0`. */
export function convertReshape(args: ConvertArgs): Value {
  const { gb, config, base } = args;
  const x = gb.toPlain(args.inputs[0]!);
  const target = config.targetShape as number[];
  const shape = gb.int64s(`${base}/shape`, [0, ...target]);
  const [name] = gb.node('Reshape', [x.name, shape], {}, base);
  return { name: name!, shape: args.outShape, layout: 'plain' };
}

/** `Flatten`: tfjs flattens NHWC in H, W, C order, so the value is brought back to NHWC first. */
export function convertFlatten(args: ConvertArgs): Value {
  const { gb, base } = args;
  const x = gb.toPlain(args.inputs[0]!);
  const [name] = gb.node('Flatten', [x.name], { axis: 1 }, base);
  return { name: name!, shape: args.outShape, layout: 'plain' };
}

/** `ZeroPadding2D`: constant Pad on H and W. */
export function convertZeroPadding2D(args: ConvertArgs): Value {
  const { gb, config, base } = args;
  const x = gb.toNchw(args.inputs[0]!);
  const p = config.padding as [[number, number], [number, number]];
  const [[top, bottom], [left, right]] = p;
  const pads = gb.int64s(`${base}/pads`, [0, 0, top, left, 0, 0, bottom, right]);
  const [name] = gb.node('Pad', [x.name, pads], { mode: 'constant' }, base);
  return { name: name!, shape: args.outShape, layout: 'nchw' };
}
