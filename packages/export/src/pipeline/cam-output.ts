import { DataError, tf, type EncoderFeatures } from '@multichexnet/core';
import { CAM_OUTPUT } from '@multichexnet/runtime/format';

/** The CAM of a symbolic graph: CheXCls's `cam` (head-cls) on the features. */
interface CamHead {
  readonly config: { readonly classes: readonly string[]; readonly name?: string };
  cam?(features: EncoderFeatures<tf.SymbolicTensor>): tf.SymbolicTensor;
}

/**
 * The export's `cls_cam` output when asked for (`cam: true`): [B, C, h, w] NCHW, the layout the graph computes in.
 * Not exported from the package: `exportPipeline` / `exportModel` take `cam: true`.
 */
export function camExportOutput(
  cls: CamHead | undefined,
  features: EncoderFeatures<tf.SymbolicTensor>,
  enabled: boolean,
): {
  output: tf.SymbolicTensor;
  spec: { name: string; activation: 'none'; layout: 'NCHW'; description: string };
} | null {
  if (!enabled) return null;
  if (cls === undefined) {
    throw new DataError('Class activation maps need a cls head', {
      field: 'cam',
      expected: 'a model with a CheXCls head',
      found: 'a model without a cls task',
    });
  }
  if (typeof cls.cam !== 'function') {
    throw new DataError('The cls head cannot give class activation maps', {
      field: 'cam',
      expected: 'a CheXCls of @multichexnet/head-cls (it has cam())',
      found: `a ${cls.config.name ?? 'cls'} head without cam()`,
    });
  }
  return {
    output: cls.cam(features),
    spec: {
      name: CAM_OUTPUT,
      activation: 'none',
      layout: 'NCHW',
      description: `[B, ${cls.config.classes.length}, h, w] class activation maps (logit units, bias left out), classes in metadata classNames order, NCHW`,
    },
  };
}
