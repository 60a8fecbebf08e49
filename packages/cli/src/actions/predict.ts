import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { writeFileAtomic, type ScoredBox } from '@multichexnet/core';
import { rleEncode } from '@multichexnet/data';
import { createSharpDecoder } from '@multichexnet/data/node';
import {
  calibrationOf,
  oodMessage,
  writeCamOverlayPng,
  writeOverlayPng,
  type OodDecision,
  type OodPolicy,
  type OodSpec,
} from '@multichexnet/runtime';
import { UsageError } from '../cli-error';
import type { CommandContext } from '../context';
import { routeLibraryLogs } from './prepare';
import { listImageFiles, readImageFile, type ImageFile } from '../io/image-files';
import { openPredictor, type PredictSettings } from '../predict/predictor';

/** Options of `multichexnet predict`. */
export interface PredictCommandOptions {
  model: string;
  out?: string;
  overlay?: string;
  gate: boolean;
  gateThreshold?: number;
  scoreThreshold?: number;
  segThreshold?: number;
  top: number;
  threads?: number;
  /** [cam] classes whose activation maps are drawn besides the findings' (`all`: every class). */
  cam?: string[];
  /**
   * Decode with the pure-JavaScript decoders only (as the browser demo does), not sharp: for comparisons and for
   * machines where sharp's native binary misbehaves.
   */
  jsDecode?: boolean;
  /** `--ood refuse|flag|off` (default: refuse when the model records OOD statistics). */
  ood?: string;
  oodThreshold?: number;
}

/** One image's entry in `predict`'s JSON. */
export interface PredictedImage {
  file: string;
  format: string;
  width: number;
  height: number;
  /** Sigmoid probability per class (model's class order). */
  probabilities: Record<string, number>;
  /**
   * Classes at or above the per-class thresholds chosen on validation (model's class order); absent when the
   * model records no cls thresholds.
   */
  findings?: string[];
  /** The `top` most probable classes, best first. */
  top: { class: string; probability: number }[];
  gate: { probability: number; positive: boolean };
  /** Boxes in original image pixels (top-left + size), best first. */
  boxes: ScoredBox[];
  /** SIIM run-length encoding of the mask in original pixels (`-1`: empty or gated out; `''`: no seg head). */
  maskRle: string;
  /** Foreground pixels of the mask. */
  maskPixels: number;
  /** The overlay PNG written for this image (`--overlay`). */
  overlay?: string;
  /**
   * Class activation maps (models exported with them): the findings' and the `--cam` classes', each with its peak
   * in original image pixels and, with `--overlay`, its heatmap PNG.
   */
  cams?: { class: string; peak: { x: number; y: number; value: number }; overlay?: string }[];
  timings: { totalMs: number };
  /** The OOD verdict (absent when the model has no OOD statistics or with `--ood off`). */
  ood?: OodDecision;
  /** true: refused as out of distribution (`--ood refuse`): no probabilities, findings, boxes or mask. */
  refused?: boolean;
  /** Whether `probabilities` and box scores are calibrated (temperature scaling fitted on validation). */
  calibrated: boolean;
}

/** `predict`'s JSON document. */
export interface PredictOutput {
  model: {
    files: string[];
    kind: 'pipeline' | 'single-graph';
    classes: string[];
    inputSize: number;
    gate: unknown;
    /** Whether the model's probabilities are calibrated, and how. */
    calibration: { calibrated: boolean; method?: string };
    /** The model's OOD score output and threshold (null: none recorded), and the policy applied. */
    ood: (OodSpec & { policy: OodPolicy }) | null;
  };
  images: PredictedImage[];
}

const BATCH = 8;

function uniqueOverlayName(file: string, used: Set<string>): string {
  const stem = basename(file, extname(file));
  let name = `${stem}.overlay.png`;
  for (let k = 2; used.has(name); k++) name = `${stem}-${k}.overlay.png`;
  used.add(name);
  return name;
}

/** Runs `predict` (also used by the report's gallery): files -> results, overlays written when asked. *
 * @example
 * const out = await runPredict(ctx, ['scans/'], { model: 'runs/quickstart', gate: true, top: 3 });   // out.images[0].boxes
 */
export async function runPredict(
  ctx: CommandContext,
  inputs: string[],
  o: PredictCommandOptions,
): Promise<PredictOutput> {
  routeLibraryLogs(ctx);
  // The model first: a wrong --model is the likelier mistake, and it is checked without reading any image.
  if (!existsSync(ctx.path(o.model))) throw new UsageError(`no such model file or run folder: ${ctx.path(o.model)}`);
  const files = await listImageFiles(inputs.map((i) => ctx.path(i)));
  const settings: PredictSettings = {
    gate: o.gate,
    decode: {
      ...(o.scoreThreshold !== undefined ? { det: { scoreThreshold: o.scoreThreshold } } : {}),
      ...(o.segThreshold !== undefined ? { seg: { threshold: o.segThreshold } } : {}),
    },
    ...(o.gateThreshold !== undefined ? { gateThreshold: o.gateThreshold } : {}),
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.cam !== undefined && o.cam.length > 0
      ? { camClasses: o.cam.includes('all') ? ('all' as const) : o.cam }
      : {}),
  };
  if (o.ood !== undefined && !['refuse', 'flag', 'off'].includes(o.ood))
    throw new UsageError(`--ood must be refuse, flag or off; got "${o.ood}"`);
  if (o.ood !== undefined) settings.ood = o.ood as OodPolicy;
  if (o.oodThreshold !== undefined) settings.oodThreshold = o.oodThreshold;
  const predictor = await openPredictor(ctx.path(o.model), settings);
  const overlayDir = o.overlay !== undefined ? ctx.path(o.overlay) : null;
  if (overlayDir !== null) await mkdir(overlayDir, { recursive: true });
  const used = new Set<string>();
  const images: PredictedImage[] = [];
  const task = ctx.reporter.task('predict', files.length, 'images');
  // libvips (sharp) decodes off the JavaScript thread; without overlays only the model-sized image is needed, which
  // it resizes itself. The next chunk decodes while the model runs on this one.
  const decoder = o.jsDecode === true ? null : await createSharpDecoder();
  const pre = predictor.metadata.preprocessing;
  const fit =
    overlayDir === null && pre !== null
      ? { size: pre.size, fit: pre.fit, interpolation: pre.interpolation }
      : undefined;
  const readChunk = (from: number): Promise<ImageFile[]> =>
    readInOrder(files.slice(from, from + BATCH), (f) =>
      readImageFile(f, { decoder, ...(fit !== undefined ? { fit } : {}) }),
    );
  let next: Promise<ImageFile[]> | null = files.length > 0 ? readChunk(0) : null;
  try {
    for (let i = 0; i < files.length; i += BATCH) {
      const chunk = await (next as Promise<ImageFile[]>);
      next = i + BATCH < files.length ? readChunk(i + BATCH) : null;
      // a failure of the prefetched chunk surfaces when its turn comes, not as an unhandled rejection
      next?.catch(() => undefined);
      const results = await predictor.run(chunk.map((c) => c.image));
      for (let k = 0; k < chunk.length; k++) {
        const { file, format, image } = chunk[k]!;
        const size = image.originalSize ?? image;
        const r = results[k]!;
        const top = Object.entries(r.probabilities ?? {})
          .sort((a, b) => b[1] - a[1])
          .slice(0, o.top)
          .map(([c, p]) => ({ class: c, probability: p }));
        const entry: PredictedImage = {
          file,
          format,
          width: size.width,
          height: size.height,
          probabilities: r.probabilities ?? {},
          ...(r.findings !== undefined ? { findings: r.findings } : {}),
          top,
          gate: r.gate,
          boxes: r.boxes ?? [],
          maskRle: r.mask === undefined ? '' : r.mask === null ? '-1' : rleEncode(r.mask),
          maskPixels: r.mask == null ? 0 : countNonZero(r.mask.data),
          timings: { totalMs: r.timings.totalMs },
          ...(r.ood !== undefined ? { ood: r.ood } : {}),
          ...(r.refused === true ? { refused: true } : {}),
          calibrated: r.calibrated === true,
        };
        if (overlayDir !== null) {
          entry.overlay = join(overlayDir, uniqueOverlayName(file, used));
          await writeOverlayPng(entry.overlay, image, r, { maxValue: image.maxValue });
        }
        // [cam] one heatmap per finding and per --cam class, beside the overlay
        if (r.cams !== undefined) {
          entry.cams = [];
          for (const cam of Object.values(r.cams)) {
            const item: NonNullable<PredictedImage['cams']>[number] = { class: cam.className, peak: cam.peak };
            if (entry.overlay !== undefined) {
              item.overlay = entry.overlay.replace(
                /\.overlay\.png$/,
                `.cam-${cam.className.replace(/[^A-Za-z0-9_-]/g, '_')}.png`,
              );
              await writeCamOverlayPng(item.overlay, image, cam, { maxValue: image.maxValue });
            }
            entry.cams.push(item);
          }
        }
        images.push(entry);
      }
      task.update(images.length);
    }
  } finally {
    await predictor.dispose();
  }
  task.finish();
  const meta = predictor.metadata;
  const output: PredictOutput = {
    model: {
      files: predictor.files,
      kind: predictor.kind,
      classes: meta.classNames,
      inputSize: meta.preprocessing?.size ?? 0,
      gate: meta.gate,
      calibration: calibrationOf(meta),
      ood:
        meta.ood === null
          ? null
          : {
              ...meta.ood,
              ...(o.oodThreshold !== undefined ? { threshold: o.oodThreshold } : {}),
              policy: (o.ood as OodPolicy | undefined) ?? 'refuse',
            },
    },
    images,
  };
  if (o.out !== undefined) await writeFileAtomic(ctx.path(o.out), `${JSON.stringify(output, null, 2)}\n`);
  return output;
}

/** Reads every file of a chunk at once (decoders that work off-thread overlap); the first failure in file order wins. */
async function readInOrder(files: string[], read: (f: string) => Promise<ImageFile>): Promise<ImageFile[]> {
  const settled = await Promise.allSettled(files.map(read));
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<ImageFile>).value);
}

function countNonZero(data: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) n++;
  return n;
}

function humanLine(p: PredictedImage, hasGate: boolean): string {
  if (p.refused === true) return oodMessage(`${p.file} [${p.format} ${p.width}x${p.height}]`, p.ood!);
  const top = p.top.map((t) => `${t.class} ${t.probability.toFixed(3)}`).join(', ');
  // a classifier without det/seg (e.g. fine-tuned to new classes) is exported without a gate
  const gate = hasGate
    ? `gate ${p.gate.probability.toFixed(3)} ${p.gate.positive ? 'positive' : 'negative'}`
    : 'no gate';
  const det =
    p.boxes.length > 0
      ? `${p.boxes.length} box${p.boxes.length > 1 ? 'es' : ''} (best ${p.boxes[0]!.score.toFixed(2)})`
      : 'no boxes';
  const seg = p.maskRle === '' ? '' : `, mask ${p.maskPixels} px`;
  const cams =
    p.cams === undefined || p.cams.length === 0
      ? ''
      : `; heatmap peaks: ${p.cams.map((c) => `${c.class} (${Math.round(c.peak.x)}, ${Math.round(c.peak.y)})`).join(', ')}`;
  const findings =
    p.findings === undefined ? '' : `findings: ${p.findings.length > 0 ? p.findings.join(', ') : 'none'}; `;
  const flagged =
    p.ood?.outOfDistribution === true
      ? ` [OOD: score ${p.ood.score.toFixed(2)} > threshold ${p.ood.threshold.toFixed(2)}, not like the training films]`
      : '';
  return `${p.file} [${p.format} ${p.width}x${p.height}]: ${gate}; ${findings}${top}; ${det}${seg}${cams}${p.overlay ? ` -> ${p.overlay}` : ''}${flagged}`;
}

/** The `predict` verb. */
export async function predictAction(ctx: CommandContext, inputs: string[], opts: PredictCommandOptions): Promise<void> {
  const out = await runPredict(ctx, inputs, opts);
  ctx.emit(out, [
    ...out.images.map((p) => humanLine(p, out.model.gate !== null)),
    ...(opts.out ? [`results written to ${ctx.path(opts.out)}`] : []),
  ]);
}
