import type { DecodedImage } from '../codecs/decoded-image';
import { NO_AUGMENT, finishSample } from './augment';
import { resolvePreprocessConfig, type PreprocessConfig, type PreprocessConfigInput } from './config';
import { fitSample, type FitTransform } from './fit-sample';

/**
 * Decoded image → model input [S, S] (row-major; a [1, S, S, 1] tensor once reshaped), the inference path:
 * the same fit, quantisation and normalisation as training, without augmentation. `transform` maps boxes back
 * to the original image (`unfitBoxes`).
 *
 * @example
 * const { input, transform } = preprocessImage(decodeImage(bytes, name), model.preprocess);
 */
export function preprocessImage(image: DecodedImage, config: PreprocessConfig | PreprocessConfigInput = {}): { input: Float32Array; transform: FitTransform } {
  const cfg = resolvePreprocessConfig(config);
  const fitted = fitSample({ image }, cfg);
  return { input: finishSample(fitted, cfg, NO_AUGMENT).image, transform: fitted.transform };
}
