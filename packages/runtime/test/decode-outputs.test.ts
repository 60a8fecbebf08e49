import { describe, expect, it } from 'vitest';
import { DataError, defineTaskDecoder, readRow, scaleProbability } from '@multichexnet/core';
import { fitBoxes, fitMask, fitTransform } from '@multichexnet/data';
import { detDecoder, selectBoxes } from '@multichexnet/head-det';
import {
  decodeOutputs,
  fitImageSpace,
  ModelMetadataSchema,
  ONNX_MODEL_FORMAT,
  type ModelMetadata,
  type TensorData,
} from '../src/index';

const S = 32;
const settings = { scoreThreshold: 0.25, nmsIoU: 0.5, maxDetections: 10 };
const identity = fitTransform(S, S, { size: S, fit: 'letterbox' });
const CLASSES = ['Atelectasis', 'Pneumonia', 'Pneumothorax'];

/** det_boxes [N, 4] and det_scores [N] as the graph returns them. */
function graphBoxes(boxes: { x: number; y: number; width: number; height: number; score: number }[]) {
  return {
    boxes: Float32Array.from(boxes.flatMap((b) => [b.x, b.y, b.width, b.height])),
    scores: Float32Array.from(boxes.map((b) => b.score)),
  };
}

/** The metadata of a graph with the given outputs (role `model` unless said otherwise). */
function metadataOf(outputs: string[], extra: Partial<Record<keyof ModelMetadata, unknown>> = {}): ModelMetadata {
  return ModelMetadataSchema.parse({
    format: ONNX_MODEL_FORMAT,
    role: 'model',
    classNames: CLASSES,
    inputs: [{ name: 'image', shape: [null, S, S, 1], layout: 'NHWC' }],
    outputs: outputs.map((name) => ({ name, shape: [null], layout: 'plain' })),
    gate: { source: 'cls', classes: ['Pneumonia', 'Pneumothorax'], threshold: 0.5 },
    decode: { det: settings, seg: { threshold: 0.5 } },
    ...extra,
  });
}

const ALL = ['cls_probs', 'gate_prob', 'det_boxes', 'det_scores', 'seg_mask'];

/** Whether a mask is absent or holds no foreground. */
const empty = (m: { data: Uint8Array } | null | undefined): boolean => m == null || m.data.every((v) => v === 0);

/** Outputs of a batch of images: per image its class probabilities, gate probability, boxes and mask probabilities. */
function outputsOf(
  images: { cls: number[]; gate: number; boxes: Parameters<typeof graphBoxes>[0]; seg: Float32Array }[],
  n = 3,
): Record<string, TensorData> {
  const B = images.length;
  const det = images.map((im) =>
    graphBoxes([
      ...im.boxes,
      ...Array.from({ length: n - im.boxes.length }, () => ({ x: 0, y: 0, width: 0, height: 0, score: 0 })),
    ]),
  );
  const cat = (parts: ArrayLike<number>[]) => Float32Array.from(parts.flatMap((p) => Array.from(p)));
  return {
    cls_probs: { data: cat(images.map((im) => im.cls)), dims: [B, CLASSES.length] },
    gate_prob: { data: Float32Array.from(images.map((im) => im.gate)), dims: [B] },
    det_boxes: { data: cat(det.map((d) => d.boxes)), dims: [B, n, 4] },
    det_scores: { data: cat(det.map((d) => d.scores)), dims: [B, n] },
    seg_mask: { data: cat(images.map((im) => im.seg)), dims: [B, S, S, 1] },
  };
}

/** Mask probabilities [S, S]: 0.9 inside the square [x0, x1) x [y0, y1), 0.1 elsewhere. */
function square(x0: number, y0: number, x1: number, y1: number): Float32Array {
  const p = new Float32Array(S * S).fill(0.1);
  for (let y = y0; y < y1; y++) p.fill(0.9, y * S + x0, y * S + x1);
  return p;
}

const box = { x: 4, y: 6, width: 10, height: 8, score: 0.8 };
const positive = { cls: [0.1, 0.7, 0.2], gate: 0.7, boxes: [box], seg: square(8, 8, 16, 16) };
const negative = { cls: [0.3, 0.2, 0.1], gate: 0.2, boxes: [box], seg: square(0, 0, 4, 4) };

describe('decodeOutputs', () => {
  it('names the probabilities and decodes boxes and mask of a gate positive', () => {
    const r = decodeOutputs(outputsOf([positive]), metadataOf(ALL), { transform: identity });
    expect(r.probabilities).toEqual({
      Atelectasis: Math.fround(0.1),
      Pneumonia: Math.fround(0.7),
      Pneumothorax: Math.fround(0.2),
    });
    expect(r.gate).toEqual({ probability: Math.fround(0.7), positive: true });
    expect(r.boxes).toEqual([{ x: 4, y: 6, width: 10, height: 8, score: Math.fround(0.8) }]);
    expect(r.mask!.width).toBe(S);
    expect(Array.from(r.mask!.data).reduce((a, v) => a + v, 0)).toBe(64);
    expect(r.tasks).toEqual(['cls', 'det', 'seg']);
  });

  it('reads image `index` of a batch', () => {
    const outputs = outputsOf([negative, positive]);
    const meta = metadataOf(ALL);
    const second = decodeOutputs(outputs, meta, { transform: identity, index: 1 });
    expect(second).toEqual(decodeOutputs(outputsOf([positive]), meta, { transform: identity }));
    expect(decodeOutputs(outputs, meta, { transform: identity, index: 0 }).gate.probability).toBe(Math.fround(0.2));
  });

  it('drops det/seg behind a negative gate unless the gate is off; the threshold can be overridden', () => {
    const meta = metadataOf(ALL);
    const gated = decodeOutputs(outputsOf([negative]), meta, { transform: identity });
    expect([gated.gate.positive, gated.boxes, gated.mask]).toEqual([false, [], null]);
    expect(gated.probabilities).toBeDefined();
    const open = decodeOutputs(outputsOf([negative]), meta, { transform: identity, gate: { enabled: false } });
    expect(open.gate).toEqual({ probability: Math.fround(0.2), positive: true });
    expect(open.boxes).toHaveLength(1);
    expect(open.mask).not.toBeNull();
    expect(
      decodeOutputs(outputsOf([negative]), meta, { transform: identity, gate: { threshold: 0.1 } }).gate.positive,
    ).toBe(true);
  });

  it('applies det and seg overrides, and an undefined override keeps the model setting', () => {
    const meta = metadataOf(ALL);
    const outputs = outputsOf([positive]);
    expect(
      decodeOutputs(outputs, meta, { transform: identity, decode: { det: { scoreThreshold: 0.9 } } }).boxes,
    ).toEqual([]);
    expect(
      decodeOutputs(outputs, meta, { transform: identity, decode: { det: { scoreThreshold: undefined } } }).boxes,
    ).toHaveLength(1);
    expect(
      empty(decodeOutputs(outputs, meta, { transform: identity, decode: { seg: { threshold: 0.95 } } }).mask),
    ).toBe(true);
    expect(() =>
      decodeOutputs(outputs, meta, { transform: identity, decode: { det: { scoreTreshold: 0.3 } } }),
    ).toThrow(/Unknown decode setting \(field det.scoreTreshold\)/);
    expect(() => decodeOutputs(outputs, meta, { transform: identity, decode: { lung: { threshold: 0.3 } } })).toThrow(
      /task the model does not have/,
    );
  });

  it('empties a mask below the recorded minimum area, counted on the model-input grid', () => {
    const outputs = outputsOf([positive]); // 64 foreground pixels of the 32 x 32 grid
    const withArea = (minArea: number) =>
      metadataOf(ALL, { decode: { det: settings, seg: { threshold: 0.5, minArea } } });
    expect(empty(decodeOutputs(outputs, withArea(64), { transform: identity }).mask)).toBe(false);
    const small = decodeOutputs(outputs, withArea(65), { transform: identity });
    expect([small.mask!.width, small.mask!.height, small.mask!.data.some((v) => v !== 0)]).toEqual([S, S, false]);
    // The same decision on a 4x larger original: the area is counted before resizing, not on the larger mask.
    const big = fitTransform(4 * S, 4 * S, { size: S, fit: 'letterbox' });
    expect(empty(decodeOutputs(outputs, withArea(65), { transform: big }).mask)).toBe(true);
    expect(
      decodeOutputs(outputs, withArea(64), { transform: big }).mask!.data.reduce((a, v) => a + v, 0),
    ).toBeGreaterThan(64);
    // An override wins over the recorded area; files without one keep every mask.
    expect(
      empty(decodeOutputs(outputs, withArea(65), { transform: identity, decode: { seg: { minArea: 0 } } }).mask),
    ).toBe(false);
    expect(empty(decodeOutputs(outputs, metadataOf(ALL), { transform: identity }).mask)).toBe(false);
  });

  it('lists the findings at the recorded per-class thresholds, only when the model records them', () => {
    const meta = metadataOf(ALL, {
      decode: {
        det: settings,
        seg: { threshold: 0.5 },
        cls: { thresholds: { Atelectasis: 0.05, Pneumonia: 0.8, Pneumothorax: 0.15 } },
      },
    });
    // Atelectasis 0.1 >= 0.05, Pneumonia 0.7 < 0.8, Pneumothorax 0.2 >= 0.15.
    expect(decodeOutputs(outputsOf([positive]), meta, { transform: identity }).findings).toEqual([
      'Atelectasis',
      'Pneumothorax',
    ]);
    expect(decodeOutputs(outputsOf([positive]), metadataOf(ALL), { transform: identity }).findings).toBeUndefined();
  });

  it('decodes only the tasks a graph has: a stage 1 has no boxes and no mask, a gateless model passes all', () => {
    const stage1 = metadataOf(['cls_probs', 'gate_prob'], { role: 'stage1' });
    const r = decodeOutputs(outputsOf([positive]), stage1, { transform: identity });
    expect([r.tasks, r.boxes, r.mask]).toEqual([['cls'], undefined, undefined]);
    const gateless = decodeOutputs(outputsOf([negative]), metadataOf(ALL, { gate: null }), { transform: identity });
    expect(gateless.gate).toEqual({ probability: 1, positive: true });
    expect(gateless.boxes).toHaveLength(1);
    // a file written before the task table says `null` for the heads it lacks
    const noDecode = decodeOutputs(outputsOf([positive]), metadataOf(ALL, { decode: { det: null, seg: null } }), {
      transform: identity,
    });
    expect([noDecode.tasks, noDecode.boxes, noDecode.mask]).toEqual([['cls'], undefined, undefined]);
    // det only, no classifier and no gate: any subset of the table decodes
    const detOnly = decodeOutputs(
      outputsOf([negative]),
      metadataOf(['det_boxes', 'det_scores'], { tasks: ['det'], gate: null, classNames: [] }),
      { transform: identity },
    );
    expect([detOnly.tasks, detOnly.probabilities, detOnly.boxes!.length, detOnly.gate.positive]).toEqual([
      ['det'],
      undefined,
      1,
      true,
    ]);
  });

  it('maps boxes and mask back onto the original image through the letterbox fit', () => {
    const t = fitTransform(128, 64, { size: S, fit: 'letterbox' });
    const inModel = fitBoxes([{ x: 40, y: 10, width: 32, height: 24, label: 'Pneumonia' as const }], t).map((b) => ({
      ...b,
      score: 0.8,
    }));
    const r = decodeOutputs(outputsOf([{ ...positive, boxes: inModel }]), metadataOf(ALL), { transform: t });
    expect(r.boxes![0]!.x).toBeCloseTo(40, 3);
    expect(r.boxes![0]!.height).toBeCloseTo(24, 3);
    expect([r.mask!.width, r.mask!.height]).toEqual([128, 64]);
  });

  it('treats a NaN gate probability as negative and NaN mask probabilities as background', () => {
    const meta = metadataOf(ALL);
    expect(
      decodeOutputs(outputsOf([{ ...positive, gate: Number.NaN }]), meta, { transform: identity }).gate.positive,
    ).toBe(false);
    const r = decodeOutputs(outputsOf([{ ...positive, seg: new Float32Array(S * S).fill(Number.NaN) }]), meta, {
      transform: identity,
    });
    expect(empty(r.mask)).toBe(true);
  });

  it('names a missing output and an index outside the batch', () => {
    const outputs = outputsOf([positive]);
    const { cls_probs: _, ...withoutCls } = outputs;
    expect(() => decodeOutputs(withoutCls, metadataOf(ALL), { transform: identity })).toThrow(DataError);
    expect(() => decodeOutputs(withoutCls, metadataOf(ALL), { transform: identity })).toThrow(/cls_probs/);
    expect(() => decodeOutputs(outputs, metadataOf(ALL), { transform: identity, index: 1 })).toThrow(/0 <= index < 1/);
    const { gate_prob: __, ...withoutGate } = outputs;
    expect(() => decodeOutputs(withoutGate, metadataOf(ALL), { transform: identity })).toThrow(/gate_prob/);
  });
});

describe('decoders of tasks outside the table', () => {
  // A user's task: a per-image "opacity" score, the max of a [B, S, S, 1] map; not routed.
  const opacityDecoder = defineTaskDecoder<{ opacity: number }, { scale: number }>({
    task: 'opacity',
    reads: ['opacity_map'],
    routed: false,
    fields: ['opacity'],
    settings: (recorded) => ({ scale: (recorded as { scale?: number } | undefined)?.scale ?? 1 }),
    decode: (outputs, { index, settings }) => ({
      opacity: Math.max(...Array.from(readRow(outputs, 'opacity_map', index))) * settings.scale,
    }),
    empty: () => ({ opacity: 0 }),
  });
  const withOpacity = (o: Record<string, TensorData>) => ({
    ...o,
    opacity_map: { data: Float32Array.of(0.1, 0.4, 0.2, 0.3), dims: [1, 2, 2, 1] },
  });

  it('decodes a user task by its own decoder beside the built-in ones', () => {
    const meta = metadataOf([...ALL, 'opacity_map'], {
      tasks: ['cls', 'det', 'seg', 'opacity'],
      decode: { det: settings, seg: { threshold: 0.5 }, opacity: { scale: 2 } },
    });
    const r = decodeOutputs(withOpacity(outputsOf([positive])), meta, {
      transform: identity,
      decoders: [opacityDecoder],
    });
    expect(r.tasks).toEqual(['cls', 'det', 'seg', 'opacity']);
    expect(r.opacity).toBeCloseTo(0.8, 6);
    expect(r.boxes).toHaveLength(1);
  });

  it("calibrates a user task through its decoder's calibration descriptor, like the built-in ones", () => {
    // per task: one temperature for the whole map; its threshold setting is a probability
    const calibrated = defineTaskDecoder<{ opacity: number; opaque: boolean }, { threshold: number }>({
      task: 'opacity',
      reads: ['opacity_map'],
      routed: false,
      fields: ['opacity', 'opaque'],
      settings: (recorded) => ({ threshold: (recorded as { threshold?: number } | undefined)?.threshold ?? 0.5 }),
      decode: (outputs, { index, settings }) => {
        const top = Math.max(...Array.from(readRow(outputs, 'opacity_map', index)));
        return { opacity: top, opaque: top >= settings.threshold };
      },
      empty: () => ({ opacity: 0, opaque: false }),
      calibration: {
        per: 'task',
        output: 'opacity_map',
        scaleSettings: (s, scale) => ({ threshold: scale(s.threshold) }),
      },
    });
    const T = 2;
    const meta = metadataOf([...ALL, 'opacity_map'], {
      tasks: ['cls', 'opacity'],
      decode: { opacity: { threshold: scaleProbability(0.35, T) } },
      temperature: {
        split: 'val',
        tasks: { opacity: { temperature: T, samples: 10 }, cls: { temperature: { Pneumonia: 0.5 }, samples: 30 } },
      },
    });
    const r = decodeOutputs(withOpacity(outputsOf([positive])), meta, { transform: identity, decoders: [calibrated] });
    expect(r.calibrated).toBe(true);
    expect(r.opacity).toBeCloseTo(scaleProbability(0.4, T), 6);
    expect(r.opaque).toBe(true); // 0.4 >= 0.35 on the raw scale: the same decision on the calibrated one
    const raw = decodeOutputs(
      withOpacity(outputsOf([positive])),
      metadataOf([...ALL, 'opacity_map'], { tasks: ['cls', 'opacity'] }),
      { transform: identity, decoders: [calibrated] },
    );
    expect(raw.calibrated).toBe(false);
    expect(r.probabilities!.Pneumonia).toBeCloseTo(scaleProbability(raw.probabilities!.Pneumonia!, 0.5), 6);
    expect(r.probabilities!.Atelectasis).toBe(raw.probabilities!.Atelectasis); // a class left out keeps T = 1
    // temperatures for a task whose decoder has no calibration, or per class for a per-task one, are errors
    const noCalibration = metadataOf([...ALL, 'opacity_map'], {
      tasks: ['cls', 'opacity'],
      temperature: { split: 'val', tasks: { opacity: { temperature: 2, samples: 1 } } },
    });
    expect(() =>
      decodeOutputs(withOpacity(outputsOf([positive])), noCalibration, {
        transform: identity,
        decoders: [opacityDecoder],
      }),
    ).toThrow(/without probabilities to scale.*temperature\.tasks\.opacity/s);
    const perClass = metadataOf([...ALL, 'opacity_map'], {
      tasks: ['cls', 'opacity'],
      temperature: { split: 'val', tasks: { opacity: { temperature: { a: 2 }, samples: 1 } } },
    });
    expect(() =>
      decodeOutputs(withOpacity(outputsOf([positive])), perClass, { transform: identity, decoders: [calibrated] }),
    ).toThrow(/Per-class temperatures for a task calibrated as a whole/);
  });

  it('names a task without a decoder and two tasks writing one field', () => {
    const meta = metadataOf([...ALL, 'opacity_map'], { tasks: ['cls', 'opacity'] });
    expect(() => decodeOutputs(withOpacity(outputsOf([positive])), meta, { transform: identity })).toThrow(
      /tasks without a decoder.*expected decoders for opacity/,
    );
    const clash = defineTaskDecoder({ ...opacityDecoder, fields: ['boxes'] });
    const both = metadataOf([...ALL, 'opacity_map'], { tasks: ['det', 'opacity'] });
    expect(() =>
      decodeOutputs(withOpacity(outputsOf([positive])), both, { transform: identity, decoders: [clash] }),
    ).toThrow(/Two tasks write the same result field \(field boxes\)/);
  });
});

// These cases came with the demo's own copy of the decoder; that decoder is now head-det's.
describe('CheXDet decoding in the runtime (head-det selectBoxes through the fit)', () => {
  const T = fitTransform(256, 256, { size: 256, fit: 'letterbox' });
  const decode = (b: ReturnType<typeof graphBoxes>, s = settings) =>
    fitImageSpace(T, { width: 256, height: 256 }).boxes(selectBoxes(b.boxes, b.scores, s));

  it('keeps boxes above the threshold, best first, and suppresses overlaps above the NMS IoU', () => {
    const a = { x: 10, y: 10, width: 100, height: 100, score: 0.9 };
    const b = { x: 20, y: 20, width: 100, height: 100, score: 0.8 }; // IoU with a = 8100 / 11900 > 0.5
    const c = { x: 150, y: 150, width: 50, height: 50, score: 0.6 };
    const d = { x: 0, y: 150, width: 50, height: 50, score: 0.1 };
    const out = decode(graphBoxes([c, b, d, a]));
    expect(out.map((o) => o.score)).toEqual([Math.fround(0.9), Math.fround(0.6)]);
    expect(out[0]).toMatchObject({ x: 10, y: 10, width: 100, height: 100 });
  });

  it('keeps an overlapping box when its IoU is at or below the NMS threshold', () => {
    const a = { x: 0, y: 0, width: 100, height: 100, score: 0.9 };
    const b = { x: 50, y: 0, width: 100, height: 100, score: 0.8 }; // IoU = 5000 / 15000
    expect(decode(graphBoxes([a, b]))).toHaveLength(2);
    expect(decode(graphBoxes([a, b]), { ...settings, nmsIoU: 0.3 })).toHaveLength(1);
  });

  it('caps the count at maxDetections and breaks score ties by graph order', () => {
    const many = Array.from({ length: 6 }, (_, i) => ({ x: i * 40, y: 0, width: 30, height: 30, score: 0.5 }));
    expect(decode(graphBoxes(many), { ...settings, maxDetections: 3 }).map((o) => o.x)).toEqual([0, 40, 80]);
  });

  it('returns no boxes for empty outputs, NaN scores and empty boxes', () => {
    expect(decode({ boxes: new Float32Array(0), scores: new Float32Array(0) })).toEqual([]);
    const b = graphBoxes([
      { x: 0, y: 0, width: 10, height: 10, score: Number.NaN },
      { x: 0, y: 0, width: 0, height: 10, score: 0.9 },
      { x: 0, y: 0, width: 10, height: Number.NaN, score: 0.9 },
    ]);
    expect(decode(b)).toEqual([]);
  });

  it('is what the decoder writes for one image', () => {
    const b = graphBoxes([box]);
    const outputs = { det_boxes: { data: b.boxes, dims: [1, 1, 4] }, det_scores: { data: b.scores, dims: [1, 1] } };
    const image = fitImageSpace(T, { width: 256, height: 256 });
    expect(detDecoder.decode(outputs, { index: 0, settings: detDecoder.settings(settings), image }).boxes).toEqual([
      { ...box, score: Math.fround(0.8) },
    ]);
  });
});

describe('fitImageSpace masks', () => {
  it('resamples only the letterbox window onto the original image; padding foreground does not count', () => {
    const size = 256;
    const width = 512;
    const height = 256;
    const t = fitTransform(width, height, { size, fit: 'letterbox' });
    const truth = new Uint8Array(width * height);
    for (let y = 64; y < 192; y++) for (let x = 128; x < 256; x++) truth[y * width + x] = 1;
    const fitted = fitMask({ width, height, data: truth }, t, { size });
    const probs = Float32Array.from(fitted, (v) => (v ? 0.9 : 0.1));
    probs[0] = 0.99;
    const mask = fitImageSpace(t, { width: size, height: size }).mask(probs, 0.5);
    expect([mask.width, mask.height]).toEqual([width, height]);
    let differ = 0;
    for (let i = 0; i < truth.length; i++) if (mask.data[i] !== truth[i]) differ++;
    // Only pixels on the square's border may land on the other side of the threshold after the 2x upsampling.
    expect(differ).toBeLessThanOrEqual(4 * 128);
    expect(mask.data[0]).toBe(0);
  });

  it('gives an empty mask for all-background and NaN probabilities', () => {
    const probs = new Float32Array(S * S).fill(0.2);
    probs.fill(Number.NaN, 0, 100);
    const mask = fitImageSpace(identity, { width: S, height: S }).mask(probs, 0.5);
    expect(mask.width * mask.height).toBe(S * S);
    expect(mask.data.every((v) => v === 0)).toBe(true);
  });
});
