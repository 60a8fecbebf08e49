import {
  FeatureHead,
  assertShape,
  createRng,
  deriveSeed,
  pooledLogitModel,
  inputImageSpace,
  blockFactory,
  tf,
  type AnyTensor,
  type ApplyOptions,
  type EncoderFeatures,
  type FeatureBlock,
  type Head,
  type Rng,
} from '@multichexnet/core';
import { ClsHeadConfigSchema, type ClsHeadConfig, type ClsHeadConfigInput } from './config';
import { clsDecoder, CLS_PROBS_OUTPUT, type ClsPrediction } from './decode/cls-decoder';
import { maskedBinaryCrossEntropy } from './losses/masked-bce';
import { applyCamLayer, classActivationMaps } from './cam/class-activation-maps';

/** Registry name of the classification head. */
export const CLS_HEAD_CLASS_NAME = 'head-cls/ClsHead';

/**
 * CheXCls: features {c2..c5} -> logits [B, C], pre-sigmoid (C = config.classes.length, in that order).
 * Probabilities are `sigmoid(logits)`, which {@link ClsHead.decode} returns per image. Its `loss` is the scalar masked
 * BCE: target [B, C] in [0, 1] with NaN for "not annotated", output the logits [B, C], mask [B] of 0/1 switching
 * samples off; it uses the config's posWeights / negWeights. `decode` turns logits [B, C] into one `{ probabilities }`
 * per image.
 */
export interface ClsHead
  extends FeatureBlock<tf.Tensor2D, ClsHeadConfig>, Head<tf.Tensor2D, tf.Tensor2D, ClsPrediction, ClsHeadConfig> {
  readonly task: 'cls';
  /**
   * Class activation maps [B, h, w, C], NHWC, over the pooled level (exact: their spatial mean plus the bias is the
   * logit; see `classActivationMaps`); symbolic features give the graph node the ONNX export writes as `cls_cam`.
   */
  cam(features: EncoderFeatures): tf.Tensor4D;
  cam(features: EncoderFeatures<tf.SymbolicTensor>): tf.SymbolicTensor;
}

function buildClsModel(c: ClsHeadConfig): tf.LayersModel {
  return pooledLogitModel({
    name: c.name,
    seed: c.seed,
    channels: c.featureChannels[c.level],
    hidden: c.hidden,
    dropout: c.dropout,
    units: c.classes.length,
    outputName: 'logits',
  });
}

class ClsHeadImpl extends FeatureHead<tf.Tensor2D, ClsHeadConfig> implements ClsHead {
  readonly className = CLS_HEAD_CLASS_NAME;
  readonly task = 'cls' as const;
  private readonly dropouts: tf.layers.Layer[];
  private readonly dropoutRng: Rng;

  constructor(config: ClsHeadConfig) {
    super(config, buildClsModel(config), [config.level]);
    this.dropouts = this.layersModel.layers.filter((l) => l.getClassName() === 'Dropout');
    this.dropoutRng = createRng(deriveSeed(config.seed, 'dropout-masks'));
  }

  protected override inputs<T extends AnyTensor>(features: EncoderFeatures<T>, opts?: ApplyOptions): T[] {
    const inputs = super.inputs(features);
    if (opts?.training === true) {
      // tfjs's Dropout reuses a fixed seed; a fresh one per training call keeps masks random yet reproducible.
      for (const layer of this.dropouts) (layer as unknown as { seed: number }).seed = this.dropoutRng.seed();
    }
    return inputs;
  }

  loss(target: tf.Tensor2D, output: tf.Tensor2D, mask?: tf.Tensor1D): tf.Scalar {
    assertShape(`${this.config.name} logits`, output.shape, [null, this.config.classes.length]);
    return maskedBinaryCrossEntropy(target, output, {
      posWeights: this.config.posWeights,
      negWeights: this.config.negWeights,
      mask,
    });
  }

  decode(output: tf.Tensor2D): ClsPrediction[] {
    const { classes, name } = this.config;
    assertShape(`${name} logits`, output.shape, [null, classes.length]);
    const data = tf.tidy(() => tf.sigmoid(output).dataSync() as Float32Array);
    const outputs = { [CLS_PROBS_OUTPUT]: { data, dims: output.shape } };
    const settings = { classes: [...classes] };
    // The ONNX pipeline's decoder on the same probabilities: one decoding for both.
    const image = inputImageSpace({ width: 1, height: 1 });
    return Array.from({ length: output.shape[0] }, (_, index) =>
      clsDecoder.decode(outputs, { index, settings, image }),
    );
  }

  cam(features: EncoderFeatures): tf.Tensor4D;
  cam(features: EncoderFeatures<tf.SymbolicTensor>): tf.SymbolicTensor;
  cam(features: EncoderFeatures<tf.Tensor4D | tf.SymbolicTensor>): tf.Tensor4D | tf.SymbolicTensor {
    const x = features?.[this.config.level];
    if (x instanceof tf.SymbolicTensor) return applyCamLayer(this, x);
    return classActivationMaps(this, features as EncoderFeatures);
  }
}

/**
 * Creates CheXCls: global average pooling of one encoder level (c5 by default) -> optional hidden dense + ReLU
 * -> dropout -> C logits [B, C], pre-sigmoid. Validates the config once (ConfigError names the field).
 *
 * @example
 * const head = createClsHead({ classes: [...CHESTXRAY14_CLASSES], featureChannels: encoder.featureChannels, seed: 1 });
 * const logits = head.apply(encoder.apply(images));                 // [B, 14]
 * const loss = head.loss(labels, logits);                           // labels [B, 14], NaN = not annotated
 * head.decode(logits)[0].probabilities.Effusion;                    // 0.43
 */
export const createClsHead: (config: ClsHeadConfigInput) => ClsHead = blockFactory(
  CLS_HEAD_CLASS_NAME,
  ClsHeadConfigSchema,
  'classification head config',
  (c) => new ClsHeadImpl(c),
);
