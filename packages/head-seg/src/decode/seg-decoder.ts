import {
  DataError,
  defineTaskDecoder,
  readRow,
  resolveSettings,
  type BinaryMask,
  type SettingRule,
} from '@multichexnet/core/base';

/** One image's decoded segmentation. */
export interface SegPrediction {
  /** Mask in the pixels of the decoder's image space; null when the gate stopped the image. */
  mask: BinaryMask | null;
}

/** Decision settings of the segmentation decoder. */
export interface SegDecodeSettings {
  /** A pixel is foreground where its probability is > threshold. */
  threshold: number;
  /** A mask with fewer foreground pixels of the network-input grid counts as empty (0: none removed). */
  minArea: number;
}

/** Name of the segmentation output: [B, H, W, 1] foreground probabilities, NHWC. */
export const SEG_MASK_OUTPUT = 'seg_mask';

const openProbability: SettingRule = {
  expected: 'a number in (0, 1)',
  check: (v) => typeof v === 'number' && v > 0 && v < 1,
};
const count: SettingRule = { expected: 'an integer >= 0', check: (v) => Number.isInteger(v) && (v as number) >= 0 };

/**
 * Decodes `seg_mask` [B, H, W, 1] (probabilities on the network-input grid) into `{ mask }` in the image space's
 * pixels (the runtime resizes onto the original film), foreground where p > threshold; a mask under `minArea`
 * foreground pixels (counted on the input grid, as evaluation counts them) is emptied. Plain arrays only (no tfjs):
 * what the ONNX runtime and `SegHead.decode` both use.
 *
 * @example
 * const settings = segDecoder.settings(metadata.decode.seg, { minArea: 40 });
 * segDecoder.decode(outputs, { index: 0, settings, image }).mask;   // { width, height, data }
 */
export const segDecoder = defineTaskDecoder<SegPrediction, SegDecodeSettings>({
  task: 'seg',
  reads: [SEG_MASK_OUTPUT],
  routed: true,
  fields: ['mask'],
  settings: (recorded, overrides) =>
    resolveSettings<SegDecodeSettings>('seg', { threshold: 0.5, minArea: 0 }, recorded, overrides, {
      threshold: openProbability,
      minArea: count,
    }),
  decode(outputs, { index, settings, image }) {
    const probs = readRow(outputs, SEG_MASK_OUTPUT, index);
    const { width, height } = image.inputSize;
    if (probs.length !== width * height) {
      throw new DataError('Seg output does not match the network input', {
        field: SEG_MASK_OUTPUT,
        expected: `${height} x ${width} x 1 per image`,
        found: `${probs.length} values`,
      });
    }
    const mask = image.mask(probs, settings.threshold);
    if (settings.minArea > 0) {
      let n = 0;
      for (let i = 0; i < probs.length; i++) if (probs[i]! > settings.threshold) n++;
      if (n < settings.minArea) mask.data.fill(0);
    }
    return { mask };
  },
  empty: () => ({ mask: null }),
  // one temperature for every pixel; the mask threshold is a probability
  calibration: {
    per: 'task',
    output: SEG_MASK_OUTPUT,
    scaleSettings: (s, scale) => ({ ...s, threshold: scale(s.threshold) }),
  },
});
