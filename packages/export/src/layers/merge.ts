import { DataError } from '@multichexnet/core';
import type { GraphBuilder, Value } from '../onnx/graph-builder';
import type { ConvertArgs } from './converter';

/** Where logical NHWC axis `a` of a rank-4 value lives once stored NCHW. */
const NHWC_TO_NCHW_AXIS = [0, 2, 3, 1];

/**
 * Brings all inputs of an elementwise or concat op to one layout: NCHW when all are rank 4 (the common case
 * inside conv bodies; no transposes), their tfjs layout otherwise.
 */
function commonLayout(gb: GraphBuilder, inputs: Value[], args: ConvertArgs): Value[] {
  const ranks = new Set(inputs.map((v) => v.shape.length));
  if (ranks.size !== 1) {
    throw new DataError('Merging tensors of different ranks is not supported by the ONNX exporter', {
      field: `${args.layer.name} (${args.layer.getClassName()})`,
      expected: 'inputs of equal rank',
      found: inputs.map((v) => `[${v.shape.map((d) => d ?? '?').join(', ')}]`).join(' and '),
    });
  }
  if (inputs[0]!.shape.length === 4) return inputs.map((v) => gb.toNchw(v));
  return inputs.map((v) => gb.toPlain(v));
}

/** `Concatenate` along any axis (the channel axis is the usual one). */
export function convertConcatenate(args: ConvertArgs): Value {
  const { gb, config, base } = args;
  const inputs = commonLayout(gb, args.inputs, args);
  const rank = inputs[0]!.shape.length;
  let axis = (config.axis as number | undefined) ?? -1;
  if (axis < 0) axis += rank;
  const onnxAxis = inputs[0]!.layout === 'nchw' ? NHWC_TO_NCHW_AXIS[axis]! : axis;
  const [name] = gb.node(
    'Concat',
    inputs.map((v) => v.name),
    { axis: onnxAxis },
    base,
  );
  return { name: name!, shape: args.outShape, layout: inputs[0]!.layout };
}

function variadic(op: 'Sum' | 'Mean' | 'Max' | 'Min', args: ConvertArgs): Value {
  const inputs = commonLayout(args.gb, args.inputs, args);
  const [name] = args.gb.node(
    op,
    inputs.map((v) => v.name),
    {},
    args.base,
  );
  return { name: name!, shape: args.outShape, layout: inputs[0]!.layout };
}

function chained(op: 'Mul' | 'Sub', args: ConvertArgs): Value {
  const inputs = commonLayout(args.gb, args.inputs, args);
  let acc = inputs[0]!.name;
  for (let i = 1; i < inputs.length; i++) {
    acc = args.gb.node(op, [acc, inputs[i]!.name], {}, i === inputs.length - 1 ? args.base : `${args.base}_${i}`)[0]!;
  }
  return { name: acc, shape: args.outShape, layout: inputs[0]!.layout };
}

/** `Add`. */
export const convertAdd = (args: ConvertArgs): Value => variadic('Sum', args);
/** `Average`. */
export const convertAverage = (args: ConvertArgs): Value => variadic('Mean', args);
/** `Maximum`. */
export const convertMaximum = (args: ConvertArgs): Value => variadic('Max', args);
/** `Minimum`. */
export const convertMinimum = (args: ConvertArgs): Value => variadic('Min', args);
/** `Multiply`. */
export const convertMultiply = (args: ConvertArgs): Value => chained('Mul', args);
/** `Subtract` (exactly two inputs in tfjs). */
export const convertSubtract = (args: ConvertArgs): Value => chained('Sub', args);
