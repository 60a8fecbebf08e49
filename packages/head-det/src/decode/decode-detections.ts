import { tf, type PlainTensor, type ScoredBox } from '@multichexnet/core';
import type { DetDecodeConfig } from '../config';
import { sizeOf, type DetLayout, type ImageSize } from '../grid';
import { detBoxesOf } from './det-boxes';
import { selectBoxes } from './det-decoder';

/** Per-call options of {@link decodeDetections}; unset fields come from the head's `decode` config. */
export interface DecodeDetectionsOptions extends Partial<DetDecodeConfig> {
  /**
   * Pixel size of the image the boxes are reported in. Default: the network input (grid x stride). Pass the
   * original size (e.g. 1024 for RSNA) to get boxes in original pixels: box coordinates are fractions of the
   * image internally, so only the final scaling changes.
   */
  imageSize?: ImageSize;
}

/**
 * Raw output [B, S_h, S_w, K*5] (a tensor, or plain data with dims as onnxruntime returns it) -> one list of boxes per
 * image, in pixels (top-left + size, RSNA style), highest score first: {@link detBoxesOf} (the boxes the exported
 * graph computes), then the plain decoder's selection (score >= `scoreThreshold`, no empty box, NMS,
 * `maxDetections`). Reads the tensor synchronously; does not dispose it.
 *
 * @example
 * const [boxes] = decodeDetections(head.apply(features), head.config, { imageSize: 1024, scoreThreshold: 0.3 });
 * // boxes: [{ x: 212.4, y: 160.0, width: 230.1, height: 402.7, score: 0.91 }, ...]
 */
export function decodeDetections(
  output: tf.Tensor4D | PlainTensor,
  settings: DetLayout & { decode: DetDecodeConfig },
  options: DecodeDetectionsOptions = {},
): ScoredBox[][] {
  const raw: PlainTensor = output instanceof tf.Tensor ? { data: output.dataSync(), dims: output.shape } : output;
  const size = options.imageSize === undefined ? undefined : sizeOf(options.imageSize, 'imageSize');
  const { boxes, scores } = detBoxesOf(raw, settings, size);
  const chosen = {
    scoreThreshold: options.scoreThreshold ?? settings.decode.scoreThreshold,
    nmsIoU: options.nmsIoU ?? settings.decode.nmsIoU,
    maxDetections: options.maxDetections ?? settings.decode.maxDetections,
  };
  const [B, N] = scores.dims as [number, number];
  const b4 = boxes.data as Float64Array;
  const s = scores.data as Float64Array;
  return Array.from({ length: B }, (_, b) =>
    selectBoxes(b4.subarray(b * N * 4, (b + 1) * N * 4), s.subarray(b * N, (b + 1) * N), chosen),
  );
}
