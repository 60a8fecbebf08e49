/**
 * The part of an ONNX graph builder a task spec uses to add its own post-processing to an exported graph (e.g.
 * CheXDet's box decoding). Types only: the exporter's builder implements it, so a head package adds nodes without
 * depending on the exporter.
 */

/** A node attribute as written: the builder infers its ONNX type. */
export type OnnxAttrValue = number | string | number[] | { ints: number[] } | { floats: number[] } | { float: number };

/** One dimension of a graph input or output: fixed, or named (the batch). */
export type OnnxDim = { dimValue: number } | { dimParam: string };

/** A value of the graph under construction: its name, its tfjs (logical) shape, its storage layout. */
export interface OnnxValue {
  name: string;
  /** Logical shape as tfjs reports it (NHWC for images), `null` for unknown sizes (the batch). */
  shape: (number | null)[];
  /** `nchw`: a rank-4 value stored NCHW; `plain`: stored as tfjs holds it. */
  layout: 'nchw' | 'plain';
}

/** How a graph input or output stores its dimensions (the exported file's metadata). */
export type OnnxTensorLayout = 'NHWC' | 'NCHW' | 'plain';

/** A graph output as the exported metadata describes it. */
export interface OnnxTensorSpec {
  name: string;
  /** Shape, `null` for dynamic sizes (the batch). */
  shape: (number | null)[];
  layout: OnnxTensorLayout;
  description: string;
}

/** Adds nodes, initializers and outputs to an ONNX graph. */
export interface OnnxGraphWriter {
  /** Adds a node; returns the names of its outputs (fresh names derived from `base`). */
  node(
    opType: string,
    inputs: string[],
    attrs?: Record<string, OnnxAttrValue>,
    base?: string,
    outputs?: number,
  ): string[];
  /** Adds a node writing to the given output names. */
  nodeTo(
    opType: string,
    inputs: string[],
    outputs: string[],
    attrs?: Record<string, OnnxAttrValue>,
    base?: string,
  ): void;
  /** Adds a float32 initializer; returns its name. */
  floats(base: string, dims: number[], data: Float32Array | number[]): string;
  /** Adds an int64 initializer (shapes, axes, indices); returns its name. */
  int64s(base: string, values: number[], dims?: number[]): string;
  /** Reserves a name exactly (graph outputs keep the names users ask for). */
  reserveName(name: string): string;
  /** Declares a float32 graph output. */
  output(name: string, dims: OnnxDim[], docString?: string): void;
}
