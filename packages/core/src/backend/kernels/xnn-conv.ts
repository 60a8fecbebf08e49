/**
 * A direct call of the wasm backend's XNNPACK convolution (`_Conv2D`) with explicit padding, stride and dilation,
 * on tensors our kernels prepared (transposed inputs, reversed filters). The two backprop kernels reduce to it.
 */
import type { tf } from '../../tf';
import { idOf, type WasmBackend } from './wasm-backend';

/** Geometry of one XNNPACK convolution; pads are explicit (never TF "same"), all values >= 0. */
export interface XnnConvGeometry {
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
}

/** Output spatial size XNNPACK computes for this geometry. */
export function xnnConvOutSize(inH: number, inW: number, kH: number, kW: number, g: XnnConvGeometry): [number, number] {
  const effH = (kH - 1) * g.dilationH + 1;
  const effW = (kW - 1) * g.dilationW + 1;
  const outH = Math.floor((inH + g.padTop + g.padBottom - effH) / g.strideH) + 1;
  const outW = Math.floor((inW + g.padLeft + g.padRight - effW) / g.strideW) + 1;
  return [outH, outW];
}

/**
 * Convolution of x [B, H, W, Ci] (NHWC) with filter [KH, KW, Ci, Co] (TF layout) into a new tensor
 * [B, OH, OW, Co]. The filter may be any tensor: XNNPACK packs it once per filter id and drops the packed copy
 * when that tensor is disposed.
 */
export function xnnConv2d(
  backend: WasmBackend,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  g: XnnConvGeometry,
): tf.TensorInfo {
  const [batch, inH, inW, inC] = x.shape as [number, number, number, number];
  const [kH, kW, fIn, outC] = filter.shape as [number, number, number, number];
  if (fIn !== inC) throw new Error(`xnnConv2d: filter in-channels ${fIn} != input channels ${inC}`);
  const [outH, outW] = xnnConvOutSize(inH, inW, kH, kW, g);
  const out = backend.makeOutput([batch, outH, outW, outC], 'float32');
  if (batch * outH * outW * outC === 0) return out;
  backend.wasm._Conv2D(
    idOf(backend, x),
    batch,
    inH,
    inW,
    idOf(backend, filter),
    kH,
    kW,
    g.padTop,
    g.padRight,
    g.padBottom,
    g.padLeft,
    0,
    g.dilationH,
    g.dilationW,
    g.strideH,
    g.strideW,
    inC,
    outC,
    idOf(backend, out),
  );
  return out;
}
