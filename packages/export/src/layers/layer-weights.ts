import { tf, DataError } from '@multichexnet/core';

/** One weight of a layer as plain data. */
export interface WeightData {
  shape: number[];
  data: Float32Array;
}

const KNOWN_WEIGHTS = ['kernel', 'bias', 'gamma', 'beta', 'moving_mean', 'moving_variance'];

/**
 * The weights of a layer by their short name (`kernel`, `bias`, `gamma`, `moving_mean`, ...), copied out of the
 * live variables (so folding can scale them without touching the model).
 */
export function readLayerWeights(layer: tf.layers.Layer): Map<string, WeightData> {
  const out = new Map<string, WeightData>();
  for (const v of layer.weights) {
    const full = (v as unknown as { originalName?: string }).originalName ?? v.name;
    const tail = full.slice(full.lastIndexOf('/') + 1);
    // Without originalName, tfjs' per-process uniqueness suffix (`kernel_1`) is stripped back to the known name.
    const short =
      KNOWN_WEIGHTS.find((k) => tail === k) ?? KNOWN_WEIGHTS.find((k) => new RegExp(`^${k}_\\d+$`).test(tail)) ?? tail;
    if (v.dtype !== 'float32') {
      throw new DataError('Only float32 weights can be exported', {
        field: `${layer.name}/${short}`,
        expected: 'float32',
        found: v.dtype,
      });
    }
    out.set(short, {
      shape: v.shape.slice() as number[],
      data: Float32Array.from(v.read().dataSync() as Float32Array),
    });
  }
  return out;
}

/** The weight `name` of a layer, or a DataError naming the layer when it is missing. */
export function requireWeight(weights: Map<string, WeightData>, name: string, layer: tf.layers.Layer): WeightData {
  const w = weights.get(name);
  if (w === undefined) {
    throw new DataError('Layer lacks a weight the exporter needs', {
      field: `${layer.name} (${layer.getClassName()})`,
      expected: name,
      found: [...weights.keys()].join(', ') || 'no weights',
    });
  }
  return w;
}

/** Permutes the axes of a dense row-major array (`out.shape[i] = shape[perm[i]]`). */
export function permuteAxes(
  data: Float32Array,
  shape: number[],
  perm: number[],
): { data: Float32Array; shape: number[] } {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i]!;
  }
  const strideOfOut = perm.map((p) => inStrides[p]!);
  const out = new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += idx[d]! * strideOfOut[d]!;
    out[o] = data[src]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < outShape[d]!) break;
      idx[d] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/** A tfjs scalar-or-pair layer option as a pair (`kernelSize: 3` means `[3, 3]`). */
export function pair(v: number | number[] | undefined, fallback: number): [number, number] {
  if (v === undefined || v === null) return [fallback, fallback];
  if (typeof v === 'number') return [v, v];
  return [v[0] ?? fallback, v[1] ?? v[0] ?? fallback];
}
