import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { encode } from 'fast-png';
import { DataError, runFolder, writeFileAtomic, type BinaryMask, type Box } from '@multichexnet/core';
import {
  PATHOLOGIES,
  fitBoxes,
  fitImage,
  fitMask,
  fitTransform,
  type Dataset,
  type LabeledBox,
  type Sample,
} from '@multichexnet/data';
import { boxIoU } from '@multichexnet/head-det';
import { diceScore } from '@multichexnet/head-seg';
import { galleryCamLayer } from './gallery-cam';
import type { PipelineResult } from '@multichexnet/runtime';
import type { EvalSets } from '@multichexnet/trainer';
import type { Reporter } from '../io/progress';
import { openPredictor } from '../predict/predictor';
import { imageRef } from './image-ref';
import type { Gallery, GalleryBox, GalleryItem } from '../report/report-data';

/** Side of the gallery pictures in pixels. */
const DISPLAY = 256;
/** IoU at which a predicted box counts as finding a truth box (the lower end of the RSNA thresholds). */
const MATCH_IOU = 0.4;
const CANDIDATES = { nih: 8, rsna: 24, siim: 24 } as const;

interface Candidate {
  sample: Sample;
  result: PipelineResult;
  gateTruth: boolean | null;
}

function gateTruthOf(labels: Float32Array, classes: readonly string[]): boolean | null {
  const vals = classes
    .map((c) => labels[PATHOLOGIES.indexOf(c as (typeof PATHOLOGIES)[number])])
    .filter((v): v is number => v !== undefined && !Number.isNaN(v));
  return vals.length === 0 ? null : vals.some((v) => v === 1);
}

/** Predicted boxes matched greedily (best score first) to truth boxes at IoU >= 0.4. */
function matchBoxes(
  pred: readonly (Box & { score: number })[],
  truth: readonly Box[],
): { pred: ('tp' | 'fp')[]; truth: ('hit' | 'miss')[] } {
  const used = new Set<number>();
  const p = pred.map((b) => {
    let best = -1;
    let bestIoU = MATCH_IOU;
    truth.forEach((t, j) => {
      const iou = boxIoU(b, t);
      if (!used.has(j) && iou >= bestIoU) {
        best = j;
        bestIoU = iou;
      }
    });
    if (best >= 0) used.add(best);
    return best >= 0 ? ('tp' as const) : ('fp' as const);
  });
  return { pred: p, truth: truth.map((_, j) => (used.has(j) ? 'hit' : 'miss')) };
}

/** The picks: a mix of correct positives, gate misses, false alarms and true negatives per source. */
function choose(cands: Candidate[]): Candidate[] {
  const bucket = (c: Candidate): string =>
    c.gateTruth === null
      ? 'unknown'
      : c.gateTruth
        ? c.result.gate.positive
          ? 'tp'
          : 'fn'
        : c.result.gate.positive
          ? 'fp'
          : 'tn';
  const want: Record<string, number> = { tp: 2, fn: 1, fp: 1, tn: 1, unknown: 1 };
  const out: Candidate[] = [];
  for (const source of ['rsna', 'siim', 'nih']) {
    const counts: Record<string, number> = {};
    for (const c of cands.filter((x) => x.sample.source === source)) {
      const b = source === 'nih' ? 'unknown' : bucket(c);
      if ((counts[b] ?? 0) < (source === 'nih' ? 2 : (want[b] ?? 0))) {
        counts[b] = (counts[b] ?? 0) + 1;
        out.push(c);
      }
    }
  }
  return out;
}

function grayPng(data: Float32Array): Uint8Array {
  const px = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) px[i] = Math.round(Math.min(1, Math.max(0, data[i]!)) * 255);
  return encode({ width: DISPLAY, height: DISPLAY, data: px, channels: 1, depth: 8 });
}

/** RGBA layer of the mask comparison: green = predicted and true, red = false positive, blue = missed. */
function maskLayerPng(pred: Uint8Array | null, truth: Uint8Array | null): Uint8Array {
  const rgba = new Uint8Array(DISPLAY * DISPLAY * 4);
  for (let i = 0; i < DISPLAY * DISPLAY; i++) {
    const p = pred !== null && pred[i] !== 0;
    const t = truth !== null && truth[i] !== 0;
    const c = p && t ? [34, 197, 94, 120] : p ? [239, 68, 68, 140] : t ? [59, 130, 246, 140] : null;
    if (c !== null) rgba.set(c, i * 4);
  }
  return encode({ width: DISPLAY, height: DISPLAY, data: rgba, channels: 4, depth: 8 });
}

function itemOf(
  c: Candidate,
  k: number,
  classes: readonly string[],
): { item: GalleryItem; files: Record<string, Uint8Array> } {
  const { sample, result } = c;
  // what the model's det / seg heads predicted (absent heads: nothing to draw)
  const predBoxes = result.boxes ?? [];
  const predMask = result.mask ?? null;
  const t = fitTransform(sample.image.width, sample.image.height, { size: DISPLAY, fit: 'letterbox' });
  const picture = fitImage(sample.image, { size: DISPLAY, fit: 'letterbox', interpolation: 'area' });
  const files: Record<string, Uint8Array> = {};
  const image = `${String(k).padStart(2, '0')}-${sample.source}.png`;
  files[image] = grayPng(picture.data);
  const flags: string[] = [];
  const boxes: GalleryBox[] = [];
  const truthBoxes: LabeledBox[] = sample.tasks.det ? (sample.boxes ?? []) : [];
  if (sample.tasks.det || predBoxes.length > 0) {
    const m = matchBoxes(predBoxes, truthBoxes);
    const shown = fitBoxes(
      predBoxes.map((b) => ({ ...b, label: 'Pneumonia' as const })),
      t,
    );
    shown.forEach((b, i) =>
      boxes.push({
        x: b.x,
        y: b.y,
        width: b.width,
        height: b.height,
        status: sample.tasks.det ? m.pred[i]! : 'pred',
        score: b.score,
      }),
    );
    fitBoxes(truthBoxes, t).forEach((b, j) =>
      boxes.push({ x: b.x, y: b.y, width: b.width, height: b.height, status: m.truth[j]! }),
    );
    const fp = m.pred.filter((s) => s === 'fp').length;
    const miss = m.truth.filter((s) => s === 'miss').length;
    if (sample.tasks.det && fp > 0) flags.push(`${fp} false-positive box${fp > 1 ? 'es' : ''}`);
    if (miss > 0) flags.push(`${miss} missed box${miss > 1 ? 'es' : ''}`);
  }
  let maskLayer: string | null = null;
  let dice: number | null = null;
  const truthMask: BinaryMask | null = sample.tasks.seg && sample.mask !== undefined ? sample.mask : null;
  if (predMask !== null || truthMask !== null) {
    const pred = predMask !== null ? fitMask(predMask, t, { size: DISPLAY }) : null;
    const truth = truthMask !== null ? fitMask(truthMask, t, { size: DISPLAY }) : null;
    maskLayer = `${String(k).padStart(2, '0')}-${sample.source}-mask.png`;
    files[maskLayer] = maskLayerPng(pred, truth);
    if (truthMask !== null) {
      const predFull = predMask ?? {
        width: truthMask.width,
        height: truthMask.height,
        data: new Uint8Array(truthMask.data.length),
      };
      dice = diceScore(predFull, truthMask);
      const truthEmpty = !truthMask.data.some((v) => v !== 0);
      if (truthEmpty && predMask !== null && predMask.data.some((v) => v !== 0)) flags.push('false-positive mask');
      else if (!truthEmpty && dice < 0.5) flags.push(`mask Dice ${dice.toFixed(2)}`);
    }
  }
  // [cam] the heatmap of the most probable finding, on the gallery's letterboxed picture (./gallery-cam.ts)
  const cam = galleryCamLayer(result, t, DISPLAY);
  const camFile = cam !== null ? `${String(k).padStart(2, '0')}-${sample.source}-cam.png` : null;
  if (cam !== null && camFile !== null) files[camFile] = cam.png;
  if (c.gateTruth === true && !result.gate.positive) flags.unshift('gate miss');
  if (c.gateTruth === false && result.gate.positive) flags.unshift('gate false alarm');
  const top = Object.entries(result.probabilities ?? {})
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([cls, probability]) => ({ class: cls, probability }));
  const truthLabels = PATHOLOGIES.filter(
    (p, i) => sample.labels[i] === 1 && (classes.length === 0 || classes.includes(p)),
  );
  return {
    item: {
      id: imageRef(sample.source, sample.id),
      source: sample.source,
      image,
      maskLayer,
      size: DISPLAY,
      gate: { ...result.gate, truth: c.gateTruth },
      boxes,
      dice,
      top,
      truthLabels: [...truthLabels],
      flags,
      ...(cam !== null && camFile !== null ? { cam: { class: cam.className, layer: camFile } } : {}),
    },
    files,
  };
}

/**
 * Runs the exported ONNX pipeline of a run folder on a few test images of each source and writes `gallery/`:
 * the films and mask-comparison layers as PNGs and `gallery.json` (boxes matched against the truth, gate decision
 * against the labels). The picks mix correct positives, gate misses, false alarms and true negatives.
 *
 * @example
 * const g = await writeGallery('runs/exp1', { rsna: data.rsna.test, siim: data.siim.test }, reporter);   // g.items[0].flags
 */
export async function writeGallery(runDir: string, sets: EvalSets, reporter: Reporter): Promise<Gallery> {
  // the gallery shows what the model predicts on the test split, as the evaluation counts it: no OOD refusal
  const predictor = await openPredictor(runDir, { gate: true, decode: {}, ood: 'off' });
  const gateClasses =
    predictor.metadata.gate?.source === 'cls' ? predictor.metadata.gate.classes : ['Pneumonia', 'Pneumothorax'];
  const picks: { ds: Dataset; n: number }[] = [];
  for (const s of ['rsna', 'siim', 'nih'] as const)
    if (sets[s] !== undefined) picks.push({ ds: sets[s]!, n: Math.min(CANDIDATES[s], sets[s]!.size) });
  const total = picks.reduce((a, p) => a + p.n, 0);
  const task = reporter.task('gallery', total, 'images');
  const cands: Candidate[] = [];
  let seen = 0;
  try {
    for (const { ds, n } of picks) {
      for (let i = 0; i < n; i++) {
        let sample: Sample;
        try {
          sample = await ds.get(i);
        } catch (err) {
          // The run's --on-bad-sample policy holds here too: under 'skip' a bad test image (already counted by the
          // evaluation, counted once) is left out of the gallery instead of failing a completed run.
          if (ds.onBadSample === 'fail' || !(err instanceof DataError)) throw err;
          ds.noteSkipped(i, err);
          continue;
        } finally {
          task.update(++seen);
        }
        const [result] = await predictor.run([sample.image]);
        cands.push({ sample, result: result!, gateTruth: gateTruthOf(sample.labels, gateClasses) });
      }
    }
  } finally {
    await predictor.dispose();
  }
  task.finish();
  const run = runFolder(runDir);
  const dir = run.gallery;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const items: GalleryItem[] = [];
  for (const [k, c] of choose(cands).entries()) {
    const { item, files } = itemOf(c, k, predictor.metadata.classNames);
    for (const [name, bytes] of Object.entries(files)) await writeFileAtomic(join(dir, name), bytes);
    items.push(item);
  }
  const gallery: Gallery = {
    format: 'multichexnet-gallery',
    model: predictor.files.map((f) => f.slice(runDir.length + 1)).join(' + '),
    items,
  };
  await writeFileAtomic(run.galleryIndex, `${JSON.stringify(gallery, null, 2)}\n`);
  return gallery;
}
