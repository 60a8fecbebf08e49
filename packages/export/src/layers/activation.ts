import { DataError, type tf } from '@multichexnet/core';
import type { GraphBuilder, Value } from '../onnx/graph-builder';
import type { ConvertArgs } from './converter';

/** The activation functions the exporter maps to ONNX operators (tfjs names). */
export const SUPPORTED_ACTIVATIONS = ['linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'softmax', 'elu'] as const;

function unsupported(act: string, layer?: tf.layers.Layer): DataError {
  return new DataError('Activation not supported by the ONNX exporter', {
    field: layer ? `${layer.name} (${layer.getClassName()})` : 'activation',
    expected: `one of ${SUPPORTED_ACTIVATIONS.join(', ')}`,
    found: act,
  });
}

/** Normalises tfjs' activation config (a name, or a serialized `{ className }`) to its name. */
export function activationName(config: unknown): string {
  if (config === undefined || config === null) return 'linear';
  if (typeof config === 'string') return config;
  const cls = (config as { className?: unknown }).className;
  return typeof cls === 'string' ? cls.charAt(0).toLowerCase() + cls.slice(1) : String(config);
}

/** Softmax over the logical last axis, wherever the value stores it. */
export function softmaxLastAxis(gb: GraphBuilder, v: Value, base: string): Value {
  const axis = v.layout === 'nchw' ? 1 : v.shape.length - 1;
  const [name] = gb.node('Softmax', [v.name], { axis }, `${base}_softmax`);
  return { ...v, name: name! };
}

/** Appends the nodes of activation `act` after `v` ('linear' adds none). */
export function applyActivation(gb: GraphBuilder, v: Value, act: string, base: string, layer?: tf.layers.Layer): Value {
  switch (act) {
    case 'linear':
      return v;
    case 'relu':
      return { ...v, name: gb.node('Relu', [v.name], {}, `${base}_relu`)[0]! };
    case 'sigmoid':
      return { ...v, name: gb.node('Sigmoid', [v.name], {}, `${base}_sigmoid`)[0]! };
    case 'tanh':
      return { ...v, name: gb.node('Tanh', [v.name], {}, `${base}_tanh`)[0]! };
    case 'elu':
      // tfjs' elu activation has alpha 1, ONNX Elu's default.
      return { ...v, name: gb.node('Elu', [v.name], {}, `${base}_elu`)[0]! };
    case 'relu6':
      return clip(gb, v, 0, 6, base);
    case 'softmax':
      return softmaxLastAxis(gb, v, base);
    default:
      throw unsupported(act, layer);
  }
}

/** Clip to [lo, hi] (opset >= 11 takes the bounds as inputs). */
export function clip(gb: GraphBuilder, v: Value, lo: number, hi: number, base: string): Value {
  const min = gb.floats(`${base}_clip_min`, [], [lo]);
  const max = gb.floats(`${base}_clip_max`, [], [hi]);
  return { ...v, name: gb.node('Clip', [v.name, min, max], {}, `${base}_clip`)[0]! };
}

/** `Activation` layer. */
export function convertActivation({ gb, layer, config, inputs, base }: ConvertArgs): Value {
  return applyActivation(gb, inputs[0]!, activationName(config.activation), base, layer);
}

/** `ReLU` layer (with its optional `maxValue` cap). */
export function convertReLU({ gb, config, inputs, base }: ConvertArgs): Value {
  const maxValue = config.maxValue as number | null | undefined;
  if (maxValue !== undefined && maxValue !== null) return clip(gb, inputs[0]!, 0, maxValue, base);
  return applyActivation(gb, inputs[0]!, 'relu', base);
}

/** `LeakyReLU` layer. */
export function convertLeakyReLU({ gb, config, inputs, base }: ConvertArgs): Value {
  const alpha = (config.alpha as number | undefined) ?? 0.3;
  const v = inputs[0]!;
  return { ...v, name: gb.node('LeakyRelu', [v.name], { alpha: { float: alpha } }, `${base}_leaky`)[0]! };
}

/** `Softmax` layer (last axis only, which is what the project's heads use). */
export function convertSoftmax({ gb, layer, config, inputs, base }: ConvertArgs): Value {
  const v = inputs[0]!;
  const axis = (config.axis as number | undefined) ?? -1;
  if (axis !== -1 && axis !== v.shape.length - 1) {
    throw new DataError('Softmax over an axis other than the last is not supported by the ONNX exporter', {
      field: `${layer.name} (${layer.getClassName()})`,
      expected: 'axis -1',
      found: `axis ${axis}`,
    });
  }
  return softmaxLastAxis(gb, v, base);
}

/** Inference-time identity layers (Dropout): no node at all. */
export function convertIdentity({ inputs }: ConvertArgs): Value {
  return inputs[0]!;
}
