import type { OnnxAttrValue, OnnxGraphWriter, OnnxValue } from '@multichexnet/core';
import {
  OnnxAttributeType,
  OnnxDataType,
  type AttributeProtoData,
  type DimData,
  type GraphProtoData,
  type NodeProtoData,
  type TensorProtoData,
  type ValueInfoProtoData,
} from '@multichexnet/runtime/format';

/** An attribute value as converters write it; the builder infers the ONNX attribute type. */
export type AttrValue = OnnxAttrValue;

/**
 * Where a value's dimensions live. tfjs tensors are NHWC; the exported body runs 4-D tensors in NCHW because that
 * is the layout ONNX convolution and pooling operators take, so each value remembers which one it is stored in.
 * `nchw` is only ever used for rank-4 values; everything else is `plain` (stored exactly as tfjs holds it).
 */
export type Layout = OnnxValue['layout'];

/** A tensor of the graph under construction: its ONNX name, its tfjs (logical) shape and its storage layout. */
export type Value = OnnxValue;

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function attribute(name: string, value: AttrValue): AttributeProtoData {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TypeError(`attribute ${name}: use { float } for non-integers`);
    return { name, type: OnnxAttributeType.INT, i: value };
  }
  if (typeof value === 'string') return { name, type: OnnxAttributeType.STRING, s: utf8(value) };
  if (Array.isArray(value)) return { name, type: OnnxAttributeType.INTS, ints: value };
  if ('ints' in value) return { name, type: OnnxAttributeType.INTS, ints: value.ints };
  if ('floats' in value) return { name, type: OnnxAttributeType.FLOATS, floats: value.floats };
  return { name, type: OnnxAttributeType.FLOAT, f: value.float };
}

function bytesOf(data: Float32Array | BigInt64Array | Int32Array): Uint8Array {
  // ONNX raw_data is little-endian, as are typed arrays on every platform Node and browsers run on.
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

/**
 * Accumulates nodes and initializers of one ONNX graph, hands out unique names, and converts values between the
 * NHWC (tfjs) and NCHW (ONNX body) layouts with at most one Transpose per value and direction.
 */
export class GraphBuilder implements OnnxGraphWriter {
  private readonly nodes: NodeProtoData[] = [];
  private readonly initializers: TensorProtoData[] = [];
  private readonly inputs: ValueInfoProtoData[] = [];
  private readonly outputs: ValueInfoProtoData[] = [];
  private readonly used = new Set<string>();
  private readonly relayout = new Map<string, Value>();

  /** A name not used before in this graph, derived from `base`. */
  uniqueName(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'v';
    let name = clean;
    for (let n = 1; this.used.has(name); n++) name = `${clean}_${n}`;
    this.used.add(name);
    return name;
  }

  /** Reserves a name exactly (graph inputs and outputs keep the names users asked for). */
  reserveName(name: string): string {
    if (this.used.has(name)) throw new Error(`ONNX name ${name} is used twice`);
    this.used.add(name);
    return name;
  }

  /** Adds a node; returns the names of its outputs (fresh names derived from `base` unless given). */
  node(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, base = opType, outputs = 1): string[] {
    const outNames = Array.from({ length: outputs }, (_, i) => this.uniqueName(outputs === 1 ? base : `${base}:${i}`));
    this.nodeTo(opType, inputs, outNames, attrs, base);
    return outNames;
  }

  /** Adds a node writing to the given output names. */
  nodeTo(
    opType: string,
    inputs: string[],
    outputs: string[],
    attrs: Record<string, AttrValue> = {},
    base = opType,
  ): void {
    this.nodes.push({
      name: this.uniqueName(`${base}/${opType}`),
      opType,
      input: inputs,
      output: outputs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
  }

  /** Adds a float32 initializer and returns its name. */
  floats(base: string, dims: number[], data: Float32Array | number[]): string {
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    const count = dims.reduce((a, b) => a * b, 1);
    if (arr.length !== count)
      throw new Error(`initializer ${base}: ${arr.length} values for shape [${dims.join(', ')}]`);
    const name = this.uniqueName(base);
    this.initializers.push({ name, dims, dataType: OnnxDataType.FLOAT, rawData: bytesOf(arr) });
    return name;
  }

  /** Adds an int64 initializer (shapes, pads, axes, indices) and returns its name. */
  int64s(base: string, values: number[], dims: number[] = [values.length]): string {
    const name = this.uniqueName(base);
    const arr = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims, dataType: OnnxDataType.INT64, rawData: bytesOf(arr) });
    return name;
  }

  /** Declares a float32 graph input. */
  input(name: string, dims: DimData[], docString?: string): void {
    this.inputs.push({
      name,
      type: { tensorType: { elemType: OnnxDataType.FLOAT, shape: { dim: dims } } },
      ...(docString ? { docString } : {}),
    });
  }

  /** Declares a float32 graph output. */
  output(name: string, dims: DimData[], docString?: string): void {
    this.outputs.push({
      name,
      type: { tensorType: { elemType: OnnxDataType.FLOAT, shape: { dim: dims } } },
      ...(docString ? { docString } : {}),
    });
  }

  /** The value stored NCHW (rank-4 only); a no-op when it already is. */
  toNchw(v: Value): Value {
    if (v.layout === 'nchw') return v;
    if (v.shape.length !== 4) throw new Error(`cannot store a rank-${v.shape.length} value as NCHW`);
    return this.transposed(v, 'nchw', [0, 3, 1, 2]);
  }

  /** The value stored exactly as tfjs holds it (NHWC for images); a no-op when it already is. */
  toPlain(v: Value): Value {
    if (v.layout === 'plain') return v;
    return this.transposed(v, 'plain', [0, 2, 3, 1]);
  }

  private transposed(v: Value, layout: Layout, perm: number[]): Value {
    const key = `${v.name}->${layout}`;
    const hit = this.relayout.get(key);
    if (hit !== undefined) return hit;
    const [name] = this.node('Transpose', [v.name], { perm }, `${v.name}_${layout}`);
    const out: Value = { name: name!, shape: v.shape, layout };
    this.relayout.set(key, out);
    return out;
  }

  /** The finished graph. */
  build(name: string, docString?: string): GraphProtoData {
    return {
      name,
      node: this.nodes,
      initializer: this.initializers,
      input: this.inputs,
      output: this.outputs,
      ...(docString ? { docString } : {}),
    };
  }

  /** Count of nodes by operator type (for tests and reports). */
  opCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const n of this.nodes) counts[n.opType] = (counts[n.opType] ?? 0) + 1;
    return counts;
  }
}
