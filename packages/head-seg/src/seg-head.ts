import {
  DataError,
  FEATURE_LEVELS,
  FeatureHead,
  inputImageSpace,
  blockFactory,
  tf,
  type AnyTensor,
  type BinaryMask,
  type EncoderFeatures,
  type FeatureBlock,
  type Head,
} from '@multichexnet/core';
import { SegHeadConfigSchema, type SegHeadConfig, type SegHeadConfigInput } from './config';
import { SEG_MASK_OUTPUT, segDecoder } from './decode/seg-decoder';
import { segLoss } from './losses/seg-loss';
import { buildSegModel } from './seg-model';

/** Registry name of the CheXSeg block. */
export const SEG_HEAD_CLASS_NAME = 'head-seg/SegHead';

/**
 * CheXSeg: encoder features {c2..c5} -> mask logits [B, H, W, 1] (NHWC, pre-sigmoid), H = 4 x c2 height. Its `loss`
 * is {@link segLoss} with this head's weights; `target` [B, H, W, 1] of 0/1 (NaN = ignored pixel).
 */
export interface SegHead
  extends FeatureBlock<tf.Tensor4D, SegHeadConfig>, Head<tf.Tensor4D, tf.Tensor4D, BinaryMask, SegHeadConfig> {
  readonly task: 'seg';
  /**
   * Mask logits [B, H, W, 1] -> a binary mask per image, 1 where sigmoid(logit) > `threshold` (default
   * `config.threshold`): the plain `segDecoder` on the probabilities, as the ONNX pipeline decodes. Reads the tensor
   * synchronously; does not dispose it.
   */
  decode(output: tf.Tensor4D, threshold?: number): BinaryMask[];
}

class FpnSegHead extends FeatureHead<tf.Tensor4D, SegHeadConfig> implements SegHead {
  readonly className = SEG_HEAD_CLASS_NAME;
  readonly task = 'seg' as const;

  constructor(config: SegHeadConfig) {
    super(config, buildSegModel(config), FEATURE_LEVELS);
  }

  protected override inputs<T extends AnyTensor>(features: EncoderFeatures<T>): T[] {
    const { name } = this.config;
    const inputs = super.inputs(features);
    // The add-skips need each level to be exactly twice the next one; say so before tfjs fails inside a layer.
    const [c2, c3, c4, c5] = inputs.map((x) => x.shape);
    const pairs: [readonly (number | null)[], readonly (number | null)[], string][] = [
      [c2!, c3!, 'c2/c3'],
      [c3!, c4!, 'c3/c4'],
      [c4!, c5!, 'c4/c5'],
    ];
    for (const [fine, coarse, what] of pairs) {
      for (const axis of [1, 2]) {
        if (fine[axis] !== null && coarse[axis] !== null && fine[axis] !== 2 * coarse[axis]!) {
          throw new DataError(`Seg head features ${what} must differ by a factor 2 in size (strides 4, 8, 16, 32)`, {
            field: `${name} features`,
            expected: `${what} sizes in ratio 2`,
            found: `[${fine.join(', ')}] and [${coarse.join(', ')}]`,
          });
        }
      }
    }
    return inputs;
  }

  loss(target: tf.Tensor4D, output: tf.Tensor4D, mask?: tf.Tensor1D): tf.Scalar {
    return segLoss(target, output, this.config, mask);
  }

  decode(output: tf.Tensor4D, threshold?: number): BinaryMask[] {
    const shape = output.shape;
    if (shape.length !== 4 || shape[3] !== 1) {
      throw new DataError('Seg logits have the wrong shape', {
        field: 'seg logits',
        expected: '[B, H, W, 1]',
        found: `[${shape.join(', ')}]`,
      });
    }
    const [B, H, W] = shape;
    const settings = segDecoder.settings({ threshold: threshold ?? this.config.threshold });
    const data = tf.tidy(() => tf.sigmoid(output).dataSync() as Float32Array);
    const outputs = { [SEG_MASK_OUTPUT]: { data, dims: shape } };
    const image = inputImageSpace({ width: W, height: H });
    return Array.from({ length: B }, (_, index) => segDecoder.decode(outputs, { index, settings, image }).mask!);
  }
}

/**
 * Creates CheXSeg, the pneumothorax mask head: an FPN-style decoder with add-skips from c5 to c2, then x4
 * upsampling of the logits to the full image. Validates the config once (a bad field throws a ConfigError naming
 * it); weights are initialised from `seed`.
 *
 * @example
 * const head = createSegHead({ featureChannels: encoder.featureChannels, decoderChannels: 32, seed: 1 });
 * const logits = head.apply(encoder.apply(images));   // [B, 256, 256, 1] for 256 px images
 * const [mask] = head.decode(logits);                   // BinaryMask, 1 where p > 0.5
 */
export const createSegHead: (config: SegHeadConfigInput) => SegHead = blockFactory(
  SEG_HEAD_CLASS_NAME,
  SegHeadConfigSchema,
  'seg head config',
  (c) => new FpnSegHead(c),
);
