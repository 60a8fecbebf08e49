import {
  FeatureHead,
  blockFactory,
  tf,
  type Box,
  type FeatureBlock,
  type Head,
  type ScoredBox,
} from '@multichexnet/core';
import type { Anchor } from './anchors/anchor';
import { DetHeadConfigSchema, type DetHeadConfig, type DetHeadConfigInput } from './config';
import { DET_LEVEL_STRIDE } from './grid';
import { decodeDetections, type DecodeDetectionsOptions } from './decode/decode-detections';
import { buildDetModel } from './det-model';
import type { ImageSize } from './grid';
import { detLoss } from './losses/det-loss';
import { encodeDetTargets, type DetTargets } from './targets/encode-targets';

/** Registry name of the CheXDet block. */
export const DET_HEAD_CLASS_NAME = 'head-det/DetHead';

/**
 * CheXDet: encoder features -> raw detections [B, S_h, S_w, K*5] (NHWC; channel k*5 + j is field j of anchor k:
 * tx, ty, tw, th, objectness logit), on the grid of `config.level`.
 */
export interface DetHead
  extends FeatureBlock<tf.Tensor4D, DetHeadConfig>, Head<tf.Tensor4D, DetTargets, ScoredBox[], DetHeadConfig> {
  readonly task: 'det';
  /** The K anchor shapes (fractions of the image). */
  readonly anchors: readonly Anchor[];
  /** Stride of the grid relative to the image (32 for c5, 16 for c4). */
  readonly stride: number;
  /** {@link encodeDetTargets} with this head's grid and anchors. */
  encodeTargets(boxesPerImage: readonly (readonly Box[] | null)[], imageSize: ImageSize): DetTargets;
  /** Scalar loss of raw detections [B, S_h, S_w, K*5] against `target`: {@link detLoss} with this head's weights. */
  loss(target: DetTargets, output: tf.Tensor4D, mask?: tf.Tensor1D): tf.Scalar;
  /**
   * Raw detections [B, S_h, S_w, K*5] -> boxes per image in pixels: {@link decodeDetections}, `config.decode` defaults.
   */
  decode(output: tf.Tensor4D, options?: DecodeDetectionsOptions): ScoredBox[][];
}

class AnchorDetHead extends FeatureHead<tf.Tensor4D, DetHeadConfig> implements DetHead {
  readonly className = DET_HEAD_CLASS_NAME;
  readonly task = 'det' as const;
  readonly anchors: readonly Anchor[];
  readonly stride: number;

  constructor(config: DetHeadConfig) {
    super(config, buildDetModel(config), [config.level]);
    this.anchors = config.anchors;
    this.stride = DET_LEVEL_STRIDE[config.level];
  }

  encodeTargets(boxesPerImage: readonly (readonly Box[] | null)[], imageSize: ImageSize): DetTargets {
    return encodeDetTargets(boxesPerImage, imageSize, this.config);
  }

  loss(target: DetTargets, output: tf.Tensor4D, mask?: tf.Tensor1D): tf.Scalar {
    return detLoss(target, output, this.config, mask);
  }

  decode(output: tf.Tensor4D, options?: DecodeDetectionsOptions): ScoredBox[][] {
    return decodeDetections(output, this.config, options);
  }
}

/**
 * Creates CheXDet, the YOLOv2-style pneumonia box head. Validates the config once (a bad field throws a
 * ConfigError naming it); weights are initialised from `seed`.
 *
 * @example
 * const head = createDetHead({ featureChannels: encoder.featureChannels, seed: 1 });
 * const raw = head.apply(encoder.apply(images));            // [B, 8, 8, 25] for 256 px images, 5 anchors
 * const boxes = head.decode(raw, { imageSize: 1024 });     // ScoredBox[][] in original RSNA pixels
 */
export const createDetHead: (config: DetHeadConfigInput) => DetHead = blockFactory(
  DET_HEAD_CLASS_NAME,
  DetHeadConfigSchema,
  'det head config',
  (c) => new AnchorDetHead(c),
);
