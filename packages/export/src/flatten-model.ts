import { tf, DataError } from '@multichexnet/core';

/** One call of a (non-container) layer in the flattened graph. */
export interface FlatNode {
  layer: tf.layers.Layer;
  /** Keys of the values this call reads. */
  inputs: string[];
  /** Key of the value it produces. */
  output: string;
  /** tfjs output shape. */
  outShape: (number | null)[];
}

/** A model with every nested LayersModel inlined: layer calls in topological order. */
export interface FlatGraph {
  /** The top-level model inputs: value key and tfjs shape. */
  inputs: { key: string; shape: (number | null)[]; name: string }[];
  /** The value key of each model output, in model order. */
  outputs: string[];
  nodes: FlatNode[];
}

interface Scope {
  id: string;
  /** Inner-model input tensor id -> outer value key. */
  bindings: Map<number, string>;
  /** Symbolic tensor id -> value key, for tensors already resolved in this scope. */
  memo: Map<number, string>;
}

/**
 * The output shape of one layer call given the shapes its inputs really have here. A block's own model is built
 * for any image size ([B, null, null, C] inputs), so the shapes stored inside a nested model are mostly unknown;
 * re-running shape inference from the outer model's inputs gives the concrete sizes that explicit paddings and the
 * det decoding need. Falls back to the stored shape, filling in what it knows.
 */
function inferShape(
  layer: tf.layers.Layer,
  inputShapes: (number | null)[][],
  stored: (number | null)[],
): (number | null)[] {
  let inferred: (number | null)[] | null = null;
  try {
    const s = layer.computeOutputShape(inputShapes.length === 1 ? inputShapes[0]! : inputShapes);
    if (Array.isArray(s) && (s.length === 0 || !Array.isArray(s[0]))) inferred = s as (number | null)[];
  } catch {
    inferred = null;
  }
  if (inferred === null || inferred.length !== stored.length) return stored.slice();
  return stored.map((d, i) => d ?? inferred![i] ?? null);
}

function isContainer(layer: tf.layers.Layer): layer is tf.LayersModel {
  return layer instanceof tf.LayersModel;
}

/**
 * Inlines nested LayersModels and orders the layer calls so every call comes after its inputs. Each call of a
 * nested model gets its own scope, so a block applied twice (shared weights) appears twice.
 */
export function flattenModel(model: tf.LayersModel): FlatGraph {
  const nodes: FlatNode[] = [];
  const callScopes = new Map<string, Scope>();
  let scopeCount = 0;
  const top: Scope = { id: 's0', bindings: new Map(), memo: new Map() };
  const shapes = new Map<string, (number | null)[]>();
  const inputs = model.inputs.map((t, i) => {
    const key = `${top.id}:in${i}`;
    top.bindings.set(t.id, key);
    shapes.set(key, t.shape.slice());
    return { key, shape: t.shape.slice(), name: t.sourceLayer.name };
  });

  const resolve = (t: tf.SymbolicTensor, scope: Scope): string => {
    const hit = scope.memo.get(t.id) ?? scope.bindings.get(t.id);
    if (hit !== undefined) return hit;
    const layer = t.sourceLayer as tf.layers.Layer;
    let key: string;
    if (layer.getClassName() === 'InputLayer') {
      throw new DataError('Model output depends on an input the model does not declare', {
        field: `${layer.name} (InputLayer)`,
        expected: 'a tensor reachable from the model inputs',
        found: 'a dangling InputLayer',
      });
    } else if (isContainer(layer)) {
      // Every output of one call of a nested model shares one scope (keyed by the call), so its body is
      // emitted once even when several of its outputs are used.
      const nodeIndex = (t as unknown as { nodeIndex: number }).nodeIndex;
      const callKey = `${scope.id}/${layer.id}/${nodeIndex}`;
      let inner = callScopes.get(callKey);
      if (inner === undefined) {
        const callInputs = t.inputs.map((x) => resolve(x, scope));
        if (callInputs.length !== layer.inputs.length) {
          throw new DataError('Nested model called with the wrong number of inputs', {
            field: layer.name,
            expected: String(layer.inputs.length),
            found: String(callInputs.length),
          });
        }
        inner = {
          id: `s${++scopeCount}`,
          bindings: new Map(layer.inputs.map((x, i) => [x.id, callInputs[i]!])),
          memo: new Map(),
        };
        callScopes.set(callKey, inner);
      }
      const tensorIndex = (t as unknown as { tensorIndex: number }).tensorIndex;
      key = resolve(layer.outputs[tensorIndex]!, inner);
    } else {
      const tensorIndex = (t as unknown as { tensorIndex: number }).tensorIndex;
      if (tensorIndex !== 0) {
        throw new DataError('Layers with several outputs are not supported by the ONNX exporter', {
          field: `${layer.name} (${layer.getClassName()})`,
          expected: 'one output per layer call',
          found: `output #${tensorIndex}`,
        });
      }
      const ins = t.inputs.map((x) => resolve(x, scope));
      key = `${scope.id}:${t.id}`;
      const outShape = inferShape(
        layer,
        ins.map((k) => shapes.get(k)!),
        t.shape,
      );
      shapes.set(key, outShape);
      nodes.push({ layer, inputs: ins, output: key, outShape });
    }
    scope.memo.set(t.id, key);
    return key;
  };

  const outputs = model.outputs.map((t) => resolve(t, top));
  return { inputs, outputs, nodes };
}
