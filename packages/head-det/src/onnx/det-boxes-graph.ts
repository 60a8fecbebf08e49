import { DataError, type OnnxGraphWriter, type OnnxTensorSpec, type OnnxValue } from '@multichexnet/core';
import type { Anchor } from '../anchors/anchor';
import { DET_BOXES_OUTPUT, DET_SCORES_OUTPUT } from '../decode/det-boxes';
import { DET_VALUES_PER_ANCHOR } from '../grid';

/**
 * Adds CheXDet's box decoding to an exported graph, YOLOv2 style, as {@link detBoxesOf} computes it on plain arrays:
 * `det_boxes` [B, N, 4] = (x, y, width, height) in network-input pixels, top-left + size, clipped to the image;
 * `det_scores` [B, N] = sigmoid(objectness), N = S_h x S_w x K in (row, col, anchor) order. Thresholding, NMS and the
 * cap on detections stay in JS (data-dependent sizes): the decoder's `selectBoxes`.
 *
 * @example
 * const specs = addDetBoxesToGraph(writer, outputs.get('det_raw')!, head.anchors, { width: 256, height: 256 });
 */
export function addDetBoxesToGraph(
  gb: OnnxGraphWriter,
  raw: OnnxValue,
  anchors: readonly Anchor[],
  imageSize: { width: number; height: number },
): OnnxTensorSpec[] {
  const K = anchors.length;
  const [, rows, cols, channels] = raw.shape;
  if (
    raw.shape.length !== 4 ||
    raw.layout !== 'plain' ||
    typeof rows !== 'number' ||
    typeof cols !== 'number' ||
    channels !== K * DET_VALUES_PER_ANCHOR
  ) {
    throw new DataError('Det output cannot be decoded in the graph', {
      field: raw.name,
      expected: `NHWC [B, S_h, S_w, ${K * DET_VALUES_PER_ANCHOR}] with a fixed grid`,
      found: `[${raw.shape.map((d) => d ?? '?').join(', ')}] ${raw.layout}`,
    });
  }
  const { width: W, height: H } = imageSize;
  const N = rows * cols * K;
  const c = (name: string, dims: number[], values: number[]): string => gb.floats(`det_decode/${name}`, dims, values);
  const op = (type: string, inputs: string[], base: string, attrs = {}): string =>
    gb.node(type, inputs, attrs, `det_decode/${base}`)[0]!;

  const cells = op(
    'Reshape',
    [raw.name, gb.int64s('det_decode/cell_shape', [-1, rows, cols, K, DET_VALUES_PER_ANCHOR])],
    'cells',
  );
  const slice = (from: number, to: number, base: string): string =>
    op(
      'Slice',
      [
        cells,
        gb.int64s(`det_decode/${base}_start`, [from]),
        gb.int64s(`det_decode/${base}_end`, [to]),
        gb.int64s(`det_decode/${base}_axis`, [4]),
      ],
      base,
    );
  const txy = slice(0, 2, 'txy');
  const twh = slice(2, 4, 'twh');
  const tobj = slice(4, 5, 'tobj');

  const grid: number[] = [];
  for (let r = 0; r < rows; r++) for (let q = 0; q < cols; q++) grid.push(q, r);
  const centre = op(
    'Mul',
    [
      op('Add', [op('Sigmoid', [txy], 'sxy'), c('grid', [1, rows, cols, 1, 2], grid)], 'cell_xy'),
      c('cell_size', [2], [W / cols, H / rows]),
    ],
    'centre',
  );
  const size = op(
    'Mul',
    [
      op('Exp', [twh], 'ewh'),
      c(
        'anchor_px',
        [1, 1, 1, K, 2],
        anchors.flatMap((a) => [a.width * W, a.height * H]),
      ),
    ],
    'size',
  );
  const half = op('Mul', [size, c('half', [], [0.5])], 'half');
  const topLeft = op('Max', [op('Sub', [centre, half], 'tl_raw'), c('zero', [], [0])], 'top_left');
  const bottomRight = op('Min', [op('Add', [centre, half], 'br_raw'), c('image_size', [2], [W, H])], 'bottom_right');
  const wh = op('Sub', [bottomRight, topLeft], 'clipped_size');
  const boxes = op('Concat', [topLeft, wh], 'boxes5', { axis: 4 });

  const boxesName = gb.reserveName(DET_BOXES_OUTPUT);
  gb.nodeTo('Reshape', [boxes, gb.int64s('det_decode/boxes_shape', [-1, N, 4])], [boxesName], {}, DET_BOXES_OUTPUT);
  const scoresName = gb.reserveName(DET_SCORES_OUTPUT);
  gb.nodeTo(
    'Reshape',
    [op('Sigmoid', [tobj], 'score5'), gb.int64s('det_decode/scores_shape', [-1, N])],
    [scoresName],
    {},
    DET_SCORES_OUTPUT,
  );

  const boxDoc = `[B, ${N}, 4] boxes (x, y, width, height) in ${W}x${H} input pixels, clipped; one per grid cell and anchor`;
  const scoreDoc = `[B, ${N}] objectness probabilities of det_boxes`;
  gb.output(boxesName, [{ dimParam: 'batch' }, { dimValue: N }, { dimValue: 4 }], boxDoc);
  gb.output(scoresName, [{ dimParam: 'batch' }, { dimValue: N }], scoreDoc);
  return [
    { name: boxesName, shape: [null, N, 4], layout: 'plain', description: boxDoc },
    { name: scoresName, shape: [null, N], layout: 'plain', description: scoreDoc },
  ];
}
