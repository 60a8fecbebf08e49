import { logitOf, tf, type FeatureLevel } from '@multichexnet/core';
import { PATHOLOGIES, createBatchStream, type Dataset, type PreprocessConfigInput } from '@multichexnet/data';
import type { ClsHead } from '@multichexnet/head-cls';
import { boxIoU, type DetHead } from '@multichexnet/head-det';
import type { SegHead } from '@multichexnet/head-seg';
import type { MultiCheXNet } from '@multichexnet/model';
import type { PlanSource } from '../plan/plan-schema';
import type { EvalSets } from './evaluate';
import { pooledFeatures } from './ood-fit';

/** Options of {@link collectOutputs}. */
export interface CollectOutputsOptions {
  /** Network input side (the plan's imageSize). */
  imageSize: number;
  /** Preprocessing of the plan (`size` is imageSize); no augmentation. */
  preprocess?: Omit<PreprocessConfigInput, 'size'>;
  /** What to collect: head outputs with their labels (`heads`), pooled encoder features (`features`: these levels). */
  heads?: boolean;
  features?: readonly FeatureLevel[];
  /** Keep every n-th pixel of each seg mask (default 7: an odd stride does not align with the det grid). */
  segStride?: number;
  /** At most this many images per source (default all), evenly spaced through the dataset. */
  maxImages?: number;
  batchSize?: number;
  /** Called after each image. */
  onImage?: () => void;
}

/** Labelled head outputs as logits, for temperature scaling, and pooled features, for the OOD statistics. */
export interface CollectedOutputs {
  /** CheXCls logits [C] and labels [C] (NaN: not annotated) per image; cls on nih when present, else every source. */
  cls: { logits: Float32Array[]; labels: Float32Array[]; classes: string[] };
  /**
   * CheXDet boxes of every image with box labels (rsna), ungated, after NMS down to score 0.01: their objectness
   * logits and whether each is a true positive (IoU >= 0.5 with a truth box not matched by a higher-scored box).
   */
  det: { logits: number[]; labels: number[] };
  /** CheXSeg pixel logits and truths (siim images with a mask label), every `segStride`-th pixel. */
  seg: { logits: number[]; labels: number[] };
  /** Pooled encoder features [D] per image (every source), when asked for. */
  features: Float32Array[];
}

const DET_FLOOR = 0.01;

/** Greedy matching of boxes (best score first) to truths at IoU >= 0.5: 1 for a hit, 0 for a false alarm. */
function matchBoxes(
  boxes: readonly { x: number; y: number; width: number; height: number; score: number }[],
  truth: readonly { x: number; y: number; width: number; height: number }[],
): number[] {
  const used = new Array<boolean>(truth.length).fill(false);
  const order = boxes.map((_, i) => i).sort((a, b) => boxes[b]!.score - boxes[a]!.score);
  const hit = new Array<number>(boxes.length).fill(0);
  for (const i of order) {
    let best = -1;
    let bestIoU = 0.5;
    truth.forEach((t, j) => {
      if (used[j]) return;
      const iou = boxIoU(boxes[i]!, t);
      if (iou >= bestIoU) {
        best = j;
        bestIoU = iou;
      }
    });
    if (best >= 0) {
      used[best] = true;
      hit[i] = 1;
    }
  }
  return hit;
}

/**
 * One pass of the model over held-out sets collecting what post-hoc calibration needs: each head's logits with
 * their labels (CheXCls per class, CheXDet box objectness, CheXSeg pixels) and the pooled encoder features the OOD
 * score reads. Det and seg run on every image with their labels (no gate): the question is what a score means
 * when a head gives it.
 *
 * @example
 * const val = await collectOutputs(model, { nih: data.nih.val, rsna: data.rsna.val }, { imageSize: 128, heads: true, features: ['c4', 'c5'] });
 * fitTemperature(val.det.logits, val.det.labels).temperature;
 */
export async function collectOutputs(
  model: MultiCheXNet,
  sets: EvalSets,
  options: CollectOutputsOptions,
): Promise<CollectedOutputs> {
  // the built-in heads' outputs with their labels (what each task's calibration applies to: its decoder's)
  const cls = model.heads['cls'] as ClsHead | undefined;
  const det = model.heads['det'] as DetHead | undefined;
  const seg = model.heads['seg'] as SegHead | undefined;
  const classes = [...(cls?.config.classes ?? [])];
  const out: CollectedOutputs = {
    cls: { logits: [], labels: [], classes },
    det: { logits: [], labels: [] },
    seg: { logits: [], labels: [] },
    features: [],
  };
  const present = (Object.keys(sets) as PlanSource[]).filter((s) => sets[s] !== undefined);
  const clsSources = present.includes('nih') ? ['nih'] : present;
  const stride = options.segStride ?? 7;
  const clsCols = classes.map((c) => (PATHOLOGIES as readonly string[]).indexOf(c));
  const C = PATHOLOGIES.length;
  for (const source of present) {
    const ds = sets[source] as Dataset;
    const limit = Math.min(ds.size, options.maxImages ?? ds.size);
    if (limit === 0) continue;
    const does = {
      cls: options.heads === true && cls !== undefined && clsSources.includes(source),
      det: options.heads === true && det !== undefined && source === 'rsna',
      seg: options.heads === true && seg !== undefined && source === 'siim',
    };
    if (!does.cls && !does.det && !does.seg && options.features === undefined) continue;
    const stream = createBatchStream({
      datasets:
        limit < ds.size ? ds.subset(Array.from({ length: limit }, (_, i) => Math.floor((i * ds.size) / limit))) : ds,
      batchSize: options.batchSize ?? 16,
      shuffle: false,
      augment: false,
      preprocess: { ...(options.preprocess ?? {}), size: options.imageSize },
      classes: [...PATHOLOGIES],
      prefetch: 1,
    });
    for await (const batch of stream) {
      const B = batch.size;
      const S = batch.imageSize;
      const images = tf.tensor4d(batch.images, [B, S, S, 1]);
      const features = model.encoder.apply(images);
      try {
        if (options.features !== undefined) {
          const pooled = pooledFeatures(features, options.features);
          const data = pooled.dataSync() as Float32Array;
          const D = pooled.shape[1];
          for (let b = 0; b < B; b++) out.features.push(data.slice(b * D, (b + 1) * D));
          pooled.dispose();
        }
        if (does.cls) {
          const logits = cls!.apply(features);
          const data = logits.dataSync() as Float32Array;
          logits.dispose();
          for (let b = 0; b < B; b++) {
            const labels = Float32Array.from(clsCols, (c) => (c < 0 ? Number.NaN : batch.labels[b * C + c]!));
            if (labels.every((v) => Number.isNaN(v))) continue;
            out.cls.logits.push(data.slice(b * classes.length, (b + 1) * classes.length));
            out.cls.labels.push(labels);
          }
        }
        if (does.det) {
          const raw = det!.apply(features);
          const boxes = det!.decode(raw, { scoreThreshold: DET_FLOOR });
          raw.dispose();
          for (let b = 0; b < B; b++) {
            if (batch.tasks.det[b] !== 1) continue;
            const hits = matchBoxes(boxes[b]!, batch.boxes[b]!);
            boxes[b]!.forEach((box, i) => {
              out.det.logits.push(logitOf(box.score));
              out.det.labels.push(hits[i]!);
            });
          }
        }
        if (does.seg) {
          const logits = seg!.apply(features);
          const data = logits.dataSync() as Float32Array;
          logits.dispose();
          for (let b = 0; b < B; b++) {
            if (batch.tasks.seg[b] !== 1) continue;
            for (let i = b * S * S; i < (b + 1) * S * S; i += stride) {
              out.seg.logits.push(data[i]!);
              out.seg.labels.push(batch.masks[i]!);
            }
          }
        }
      } finally {
        images.dispose();
        tf.dispose(Object.values(features));
      }
      for (let b = 0; b < B; b++) options.onImage?.();
    }
  }
  return out;
}
