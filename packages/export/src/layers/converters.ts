import { convertActivation, convertIdentity, convertLeakyReLU, convertReLU, convertSoftmax } from './activation';
import { convertBatchNorm } from './batch-norm';
import { convertConv2D, convertConv2DTranspose, convertDense } from './conv';
import type { LayerConverter } from './converter';
import {
  convertAdd,
  convertAverage,
  convertConcatenate,
  convertMaximum,
  convertMinimum,
  convertMultiply,
  convertSubtract,
} from './merge';
import {
  convertAveragePooling2D,
  convertGlobalAveragePooling2D,
  convertGlobalMaxPooling2D,
  convertMaxPooling2D,
} from './pooling';
import { convertFlatten, convertReshape, convertZeroPadding2D } from './shape-ops';
import { convertUpSampling2D } from './up-sampling';

/**
 * The tfjs layer classes the exporter converts, by class name. BatchNorm-like layers of other class names (the
 * project's fused BatchNorm) are recognised by their weights, see `isBatchNormLayer`.
 */
export const LAYER_CONVERTERS: Readonly<Record<string, LayerConverter>> = Object.freeze({
  Conv2D: convertConv2D,
  Conv2DTranspose: convertConv2DTranspose,
  Dense: convertDense,
  BatchNormalization: convertBatchNorm,
  Activation: convertActivation,
  ReLU: convertReLU,
  LeakyReLU: convertLeakyReLU,
  Softmax: convertSoftmax,
  MaxPooling2D: convertMaxPooling2D,
  AveragePooling2D: convertAveragePooling2D,
  GlobalAveragePooling2D: convertGlobalAveragePooling2D,
  GlobalMaxPooling2D: convertGlobalMaxPooling2D,
  Concatenate: convertConcatenate,
  Add: convertAdd,
  Multiply: convertMultiply,
  Subtract: convertSubtract,
  Average: convertAverage,
  Maximum: convertMaximum,
  Minimum: convertMinimum,
  UpSampling2D: convertUpSampling2D,
  ZeroPadding2D: convertZeroPadding2D,
  Dropout: convertIdentity,
  Reshape: convertReshape,
  Flatten: convertFlatten,
});
