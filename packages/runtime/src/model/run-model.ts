import { DataError } from '@multichexnet/core/base';
import type { OnnxModel } from './load-model';
import { ortModule } from './ort-session';

/** A float32 tensor as plain data: row-major values and their dimensions. */
export interface TensorData {
  data: Float32Array;
  dims: number[];
}

/**
 * Runs a loaded model. `feeds` maps input names to float32 data with its dims (checked against the metadata:
 * rank, fixed sizes, value count); returns every output (or those named) as plain {@link TensorData}.
 *
 * @example
 * const out = await runModel(model, { image: { data: pixels, dims: [1, 256, 256, 1] } });
 * out.cls_probs.data; // Float32Array of 14 probabilities
 */
export async function runModel(
  model: OnnxModel,
  feeds: Record<string, TensorData>,
  options: { outputs?: string[] } = {},
): Promise<Record<string, TensorData>> {
  const ort = await ortModule(model.backend);
  const tensors: Record<string, InstanceType<typeof ort.Tensor>> = {};
  for (const spec of model.metadata.inputs) {
    const feed = feeds[spec.name];
    if (feed === undefined) {
      throw new DataError('Missing model input', {
        file: model.source,
        field: spec.name,
        expected: `[${spec.shape.map((d) => d ?? '?').join(', ')}] float32`,
        found: `feeds ${Object.keys(feeds).join(', ') || '(none)'}`,
      });
    }
    const ok =
      feed.dims.length === spec.shape.length &&
      spec.shape.every((d, i) => d === null || d === feed.dims[i]) &&
      feed.dims.reduce((a, b) => a * b, 1) === feed.data.length &&
      feed.data instanceof Float32Array;
    if (!ok) {
      throw new DataError('Model input has the wrong shape or type', {
        file: model.source,
        field: spec.name,
        expected: `float32 [${spec.shape.map((d) => d ?? '?').join(', ')}] (${spec.layout})`,
        found: `${feed.data?.constructor?.name ?? typeof feed.data} of ${feed.data?.length} values, dims [${feed.dims.join(', ')}]`,
      });
    }
    tensors[spec.name] = new ort.Tensor('float32', feed.data, feed.dims);
  }
  for (const name of Object.keys(feeds)) {
    if (!(name in tensors)) {
      throw new DataError('Unknown model input', {
        file: model.source,
        field: name,
        expected: model.metadata.inputs.map((i) => i.name).join(', '),
      });
    }
  }
  const wanted = options.outputs ?? model.metadata.outputs.map((o) => o.name);
  for (const name of wanted) {
    if (!model.session.outputNames.includes(name)) {
      throw new DataError('Unknown model output', {
        file: model.source,
        field: name,
        expected: model.session.outputNames.join(', '),
      });
    }
  }
  const results = await model.session.run(tensors, wanted);
  const out: Record<string, TensorData> = {};
  for (const name of wanted) {
    const t = results[name]!;
    out[name] = { data: t.data as Float32Array, dims: t.dims.slice() };
  }
  return out;
}
