import { DataError } from '@multichexnet/core';
import type { AttrValue, Value } from '../onnx/graph-builder';
import { activationName, applyActivation } from './activation';
import type { AffineFold, ConvertArgs } from './converter';
import { pair, permuteAxes, readLayerWeights, requireWeight } from './layer-weights';

/**
 * TensorFlow's 'same' padding for one spatial axis: the output has ceil(in / stride) positions and the extra
 * padding, when odd, goes after (ONNX's SAME_UPPER). Returns [before, after].
 */
export function samePadding(inSize: number, kernel: number, stride: number, dilation: number): [number, number] {
  const effective = (kernel - 1) * dilation + 1;
  const outSize = Math.ceil(inSize / stride);
  const total = Math.max((outSize - 1) * stride + effective - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** The pads / auto_pad attributes of a windowed op over an NCHW value with logical NHWC shape. */
export function windowPadding(
  padding: string,
  input: Value,
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number],
  what: string,
): Record<string, AttrValue> {
  if (padding === 'valid') return { pads: [0, 0, 0, 0] };
  if (padding !== 'same') {
    throw new DataError('Padding mode not supported by the ONNX exporter', {
      field: what,
      expected: "'same' or 'valid'",
      found: padding,
    });
  }
  const h = input.shape[1];
  const w = input.shape[2];
  // Unknown spatial size (a model built for any image size): let the runtime compute TF-style padding.
  if (h === null || w === null || h === undefined || w === undefined) return { auto_pad: 'SAME_UPPER' };
  const [top, bottom] = samePadding(h, kernel[0], strides[0], dilations[0]);
  const [left, right] = samePadding(w, kernel[1], strides[1], dilations[1]);
  return { pads: [top, left, bottom, right] };
}

function assertChannelsLast(args: ConvertArgs): void {
  const fmt = args.config.dataFormat as string | undefined;
  if (fmt !== undefined && fmt !== 'channelsLast') {
    throw new DataError('Only channelsLast layers can be exported', {
      field: `${args.layer.name} (${args.layer.getClassName()})`,
      expected: 'channelsLast',
      found: fmt,
    });
  }
}

/** Scales the weights of output channel `o` (along `axis` of a row-major `shape`) and folds the shift into the bias. */
function foldAffine(
  kernel: Float32Array,
  shape: number[],
  axis: number,
  bias: Float32Array | null,
  fold: AffineFold,
): { kernel: Float32Array; bias: Float32Array } {
  const channels = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(kernel.length);
  for (let i = 0; i < kernel.length; i++) {
    const o = Math.floor(i / inner) % channels;
    out[i] = kernel[i]! * fold.scale[o]!;
  }
  const b = new Float32Array(channels);
  for (let o = 0; o < channels; o++) b[o] = (bias ? bias[o]! : 0) * fold.scale[o]! + fold.shift[o]!;
  return { kernel: out, bias: b };
}

function finishWithActivation(args: ConvertArgs, v: Value): Value {
  const { gb, config, base, layer, fold } = args;
  const act = activationName(config.activation);
  if (fold !== null) {
    // The folded BatchNorm sits after this layer, so the layer's own activation must be linear (checked when the
    // fold is planned); the BatchNorm's fused ReLU, if any, comes last.
    return fold.relu ? applyActivation(gb, v, 'relu', fold.from) : v;
  }
  return applyActivation(gb, v, act, base, layer);
}

/**
 * The NCHW input and the kernel [kh, kw, a, b] permuted to [b, a, kh, kw] with its bias, a following BatchNorm
 * folded in along `foldAxis` (the ONNX output-channel axis: 0 for Conv, 1 for ConvTranspose).
 */
function convOperands(
  args: ConvertArgs,
  foldAxis: number,
): { x: Value; kernel: Float32Array; shape: number[]; bias: Float32Array | null } {
  assertChannelsLast(args);
  const { gb, layer, config, fold } = args;
  const x = gb.toNchw(args.inputs[0]!);
  const weights = readLayerWeights(layer);
  const k = requireWeight(weights, 'kernel', layer);
  let { data: kernel, shape } = permuteAxes(k.data, k.shape, [3, 2, 0, 1]);
  let bias: Float32Array | null =
    (config.useBias as boolean | undefined) === false ? null : (weights.get('bias')?.data ?? null);
  if (fold !== null) ({ kernel, bias } = foldAffine(kernel, shape, foldAxis, bias, fold));
  return { x, kernel, shape, bias };
}

/** `Conv2D`: NCHW Conv with the kernel [kh, kw, in, out] permuted to [out, in, kh, kw]. */
export function convertConv2D(args: ConvertArgs): Value {
  const { gb, layer, config, base } = args;
  const { x, kernel, shape, bias } = convOperands(args, 0);
  const kernelSize = pair(config.kernelSize as number | number[], 1);
  const strides = pair(config.strides as number | number[], 1);
  const dilations = pair(config.dilationRate as number | number[], 1);
  const inputs = [x.name, gb.floats(`${base}/kernel`, shape, kernel)];
  if (bias !== null) inputs.push(gb.floats(`${base}/bias`, [shape[0]!], bias));
  const attrs: Record<string, AttrValue> = {
    kernel_shape: kernelSize,
    strides,
    dilations,
    ...windowPadding(config.padding as string, x, kernelSize, strides, dilations, `${layer.name} (Conv2D)`),
  };
  const [name] = gb.node('Conv', inputs, attrs, base);
  return finishWithActivation(args, { name: name!, shape: args.outShape, layout: 'nchw' });
}

/**
 * `Conv2DTranspose`: NCHW ConvTranspose, kernel [kh, kw, out, in] permuted to [in, out, kh, kw]. TF crops the
 * full transposed convolution by the forward conv's 'same' padding (before = floor(total / 2)) and pads the end
 * when the kernel is smaller than the stride; ONNX expresses both with `pads` and `output_padding`.
 */
export function convertConv2DTranspose(args: ConvertArgs): Value {
  const { gb, layer, config, base } = args;
  const { x, kernel, shape, bias } = convOperands(args, 1);
  const [kh, kw] = pair(config.kernelSize as number | number[], 1);
  const [sh, sw] = pair(config.strides as number | number[], 1);
  const dilations = pair(config.dilationRate as number | number[], 1);
  if (dilations[0] !== 1 || dilations[1] !== 1) {
    throw new DataError('Dilated Conv2DTranspose is not supported by the ONNX exporter', {
      field: `${layer.name} (Conv2DTranspose)`,
      expected: 'dilationRate 1',
      found: `dilationRate [${dilations.join(', ')}]`,
    });
  }
  const padding = config.padding as string;
  let pads = [0, 0, 0, 0];
  if (padding === 'same') {
    const th = Math.max(kh - sh, 0);
    const tw = Math.max(kw - sw, 0);
    pads = [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
  } else if (padding !== 'valid') {
    throw new DataError('Padding mode not supported by the ONNX exporter', {
      field: `${layer.name} (Conv2DTranspose)`,
      expected: "'same' or 'valid'",
      found: padding,
    });
  }
  const inputs = [x.name, gb.floats(`${base}/kernel`, shape, kernel)];
  if (bias !== null) inputs.push(gb.floats(`${base}/bias`, [shape[1]!], bias));
  const [name] = gb.node(
    'ConvTranspose',
    inputs,
    { kernel_shape: [kh, kw], strides: [sh, sw], pads, output_padding: [Math.max(sh - kh, 0), Math.max(sw - kw, 0)] },
    base,
  );
  return finishWithActivation(args, { name: name!, shape: args.outShape, layout: 'nchw' });
}

/** `Dense` over the last axis: Gemm for [B, in], MatMul + Add for higher ranks. */
export function convertDense(args: ConvertArgs): Value {
  const { gb, layer, config, base, fold } = args;
  const x = gb.toPlain(args.inputs[0]!);
  const weights = readLayerWeights(layer);
  const k = requireWeight(weights, 'kernel', layer);
  let kernel = k.data;
  let bias: Float32Array | null =
    (config.useBias as boolean | undefined) === false ? null : (weights.get('bias')?.data ?? null);
  // Kernel [in, out]: output channels are the last axis, so fold along axis 1.
  if (fold !== null) ({ kernel, bias } = foldAffine(kernel, k.shape, 1, bias, fold));
  const w = gb.floats(`${base}/kernel`, k.shape, kernel);
  let name: string;
  if (x.shape.length === 2) {
    const inputs = [x.name, w];
    if (bias !== null) inputs.push(gb.floats(`${base}/bias`, [k.shape[1]!], bias));
    name = gb.node('Gemm', inputs, {}, base)[0]!;
  } else {
    name = gb.node('MatMul', [x.name, w], {}, `${base}_matmul`)[0]!;
    if (bias !== null) name = gb.node('Add', [name, gb.floats(`${base}/bias`, [k.shape[1]!], bias)], {}, base)[0]!;
  }
  return finishWithActivation(args, { name, shape: args.outShape, layout: 'plain' });
}
