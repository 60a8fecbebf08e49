import type { DecodedImage } from '../codecs/decoded-image';
import { NO_AUGMENT, finishSample } from './augment';
import { resolvePreprocessConfig, type PreprocessConfig, type PreprocessConfigInput } from './config';
import { fitSample, type FitTransform } from './fit-sample';

/**
 * Decoded image → model input [S, S, C] (row-major, channels last; a [1, S, S, C] tensor once reshaped), the
 * inference path: the same fit, quantisation and normalisation as training, without augmentation. With `channels: 3`
 * the grey film is repeated as RGB and normalised per channel (`mean` / `std` one value each, or one for all).
 * `transform` maps boxes back to the original image (`unfitBoxes`).
 *
 * @example
 * const { input, transform } = preprocessImage(decodeImage(bytes, name), model.preprocess);
 */
export function preprocessImage(
  image: DecodedImage,
  config: PreprocessConfig | PreprocessConfigInput = {},
): { input: Float32Array; transform: FitTransform } {
  const cfg = resolvePreprocessConfig(config);
  const fitted = fitSample({ image }, cfg);
  const C = cfg.channels ?? 1;
  if (C === 1 && typeof cfg.mean === 'number' && typeof cfg.std === 'number')
    return { input: finishSample(fitted, cfg, NO_AUGMENT).image, transform: fitted.transform };
  const grey = finishSample(fitted, { mean: 0, std: 1 }, NO_AUGMENT).image;
  const mean = typeof cfg.mean === 'number' ? new Array<number>(C).fill(cfg.mean) : cfg.mean;
  const std = typeof cfg.std === 'number' ? new Array<number>(C).fill(cfg.std) : cfg.std;
  const input = new Float32Array(grey.length * C);
  for (let i = 0; i < grey.length; i++)
    for (let c = 0; c < C; c++) input[i * C + c] = ((grey[i] as number) - mean[c]!) / std[c]!;
  return { input, transform: fitted.transform };
}
