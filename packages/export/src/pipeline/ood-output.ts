import {
  DataError,
  OodStatisticsSchema,
  tf,
  z,
  type EncoderFeatures,
  type OodStatistics,
  type OnnxGraphWriter,
  type OnnxTensorSpec,
  type OnnxValue,
} from '@multichexnet/core';
import { OOD_FEATURES_OUTPUT, OOD_SCORE_OUTPUT, type OodSpec } from '@multichexnet/runtime/format';
import type { GraphExtension } from '../export-onnx';

/*
 * The export side of OOD refusal (the score, its metadata and the runtime's use of it: @multichexnet/runtime's
 * pipeline/ood.ts): the pooled-feature output added to the tfjs stage-1 model beside `cls_cam` (./cam-output.ts), and
 * the in-graph score added after conversion. The pooled features and the score read the encoder only, so any subset
 * of heads exports them.
 */

/** Export option `ood`: the statistics fitted on training films, and the threshold chosen on validation films. */
export const OodExportSchema = z
  .object({
    statistics: OodStatisticsSchema,
    /** Images scoring above it are refused (or flagged). */
    threshold: z.number().positive(),
    /** The false-refusal rate on in-distribution films the threshold was chosen for. */
    targetFalseRefusal: z.number().gt(0).lt(1),
    /** Validation films the threshold was chosen on. */
    thresholdFilms: z.number().int().positive(),
  })
  .strict();
export type OodExport = z.input<typeof OodExportSchema>;

type Sym = tf.SymbolicTensor;
type OutputSpec = { name: string; activation: 'none' | 'sigmoid'; layout: 'NHWC' | 'NCHW'; description: string };

/**
 * The export's `ood_features` output when OOD statistics are given (the pooled encoder features [B, D] that
 * `ood_score` reads, added after conversion by {@link oodExtension}) with the `ood` metadata entry; null without.
 * Not exported from the package: `exportPipeline` / `exportModel` take `ood`.
 */
export function oodExportOutput(
  ood: z.output<typeof OodExportSchema> | undefined,
  features: EncoderFeatures<Sym>,
): { output: Sym; spec: OutputSpec; metadata: OodSpec } | null {
  if (ood === undefined) return null;
  return {
    output: pooledOodFeatures(features, ood.statistics.levels),
    spec: {
      name: OOD_FEATURES_OUTPUT,
      activation: 'none',
      layout: 'NHWC',
      description: `[B, D] globally average-pooled encoder features ${ood.statistics.levels.join(' + ')}, read by ood_score`,
    },
    metadata: oodSpecOf(ood),
  };
}

/** The graph extension adding `ood_score` after `inner` (e.g. the det decoding), or `inner` alone without statistics. */
export function oodExtension(
  ood: z.output<typeof OodExportSchema> | undefined,
  inner: GraphExtension | null,
): GraphExtension | null {
  if (ood === undefined) return inner;
  return (gb, outs) => [...(inner?.(gb, outs) ?? []), addOodScore(gb, outs.get(OOD_FEATURES_OUTPUT)!, ood.statistics)];
}

/** The symbolic pooled features [B, D] the OOD score reads: each level globally average-pooled, then concatenated. */
export function pooledOodFeatures(
  features: EncoderFeatures<tf.SymbolicTensor>,
  levels: readonly string[],
): tf.SymbolicTensor {
  // Named layers: tfjs numbers unnamed ones per process, and the names reach the ONNX node names, so an export in
  // another process would write other bytes.
  const pooled = levels.map(
    (l) =>
      tf.layers
        .globalAveragePooling2d({ name: `ood_pool_${l}` })
        .apply(features[l as keyof EncoderFeatures<tf.SymbolicTensor>]) as tf.SymbolicTensor,
  );
  return pooled.length === 1
    ? pooled[0]!
    : (tf.layers.concatenate({ axis: -1, name: 'ood_concat' }).apply(pooled) as tf.SymbolicTensor);
}

/** The `ood` metadata entry of an export. */
export function oodSpecOf(ood: z.output<typeof OodExportSchema>): OodSpec {
  return {
    output: OOD_SCORE_OUTPUT,
    method: 'ppca-mahalanobis',
    levels: [...ood.statistics.levels],
    dimensions: ood.statistics.mean.length,
    components: ood.statistics.components.length,
    threshold: ood.threshold,
    targetFalseRefusal: ood.targetFalseRefusal,
    fittedOn: ood.statistics.count,
    thresholdOn: ood.thresholdFilms,
  };
}

/**
 * Adds `ood_score` [B] to the graph, computed from the pooled features `pooled` [B, D] (the formula is in ./ood.ts).
 */
export function addOodScore(gb: OnnxGraphWriter, pooled: OnnxValue, stats: OodStatistics): OnnxTensorSpec {
  const D = stats.mean.length;
  const k = stats.components.length;
  if (pooled.shape.length !== 2 || pooled.shape[1] !== D) {
    throw new DataError('OOD statistics do not fit the pooled features', {
      field: 'ood.statistics.mean',
      expected: `${pooled.shape[1]} values (the pooled encoder channels)`,
      found: `${D}`,
    });
  }
  const op = (type: string, inputs: string[], base: string, attrs = {}): string =>
    gb.node(type, inputs, attrs, `ood/${base}`)[0]!;
  const axes = gb.int64s('ood/axes', [1]);
  const centred = op('Sub', [pooled.name, gb.floats('ood/mean', [D], stats.mean)], 'centred');
  let residual = centred;
  let along: string | null = null;
  if (k > 0) {
    const u = new Float32Array(D * k);
    stats.components.forEach((c, i) => c.forEach((v, j) => (u[j * k + i] = v)));
    const z = op('MatMul', [centred, gb.floats('ood/components', [D, k], u)], 'z');
    const z2 = op('Mul', [z, z], 'z2');
    along = op(
      'ReduceSum',
      [
        op(
          'Mul',
          [
            z2,
            gb.floats(
              'ood/inverse_variances',
              [k],
              stats.variances.map((v) => 1 / v),
            ),
          ],
          'z2_scaled',
        ),
        axes,
      ],
      'along',
      { keepdims: 0 },
    );
    residual = op(
      'Sub',
      [centred, op('MatMul', [z, gb.floats('ood/components_t', [k, D], stats.components.flat())], 'projection')],
      'residual',
    );
  }
  const off = op(
    'Mul',
    [
      op('ReduceSum', [op('Mul', [residual, residual], 'r2'), axes], 'off_sum', { keepdims: 0 }),
      gb.floats('ood/inverse_residual', [], [1 / stats.residualVariance]),
    ],
    'off',
  );
  const total = along === null ? off : op('Add', [along, off], 'total');
  const name = gb.reserveName(OOD_SCORE_OUTPUT);
  gb.nodeTo('Mul', [total, gb.floats('ood/inverse_dims', [], [1 / D])], [name], {}, OOD_SCORE_OUTPUT);
  const description = `[B] out-of-distribution score: squared Mahalanobis distance / ${D} of the pooled ${stats.levels.join(' + ')} features under the training films' Gaussian`;
  gb.output(name, [{ dimParam: 'batch' }], description);
  return { name, shape: [null], layout: 'plain', description };
}
