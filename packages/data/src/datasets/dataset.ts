import { DataError, log, type BinaryMask } from '@multichexnet/core';
import { rleDecode } from '../codecs/rle';
import { decodeImageAsync, type ImageDecoder } from '../codecs/decode-image';
import { assertRadiograph } from '../codecs/assert-radiograph';
import type { DicomMeta } from '../codecs/dicom-meta';
import type { DecodedImage } from '../codecs/decoded-image';
import type { FileSource } from '../io/file-source';
import { PATHOLOGIES, type Pathology } from './pathologies';
import type { LabeledBox, Sample, SampleEntry, SampleMeta, SourceName } from './sample';

/** What to do with a sample whose CSV row or image is bad: count and skip it, or throw its DataError. */
export type BadSamplePolicy = 'skip' | 'fail';

export type { ImageDecoder } from '../codecs/decode-image';

/**
 * An indexed dataset: every sample's labels and annotations in memory, images read and decoded on demand.
 *
 * `get(i)` throws the sample's DataError whatever the policy; async iteration (and `createBatchStream`) skip bad
 * samples under `onBadSample: 'skip'` and count them in `skipped`.
 */
export interface Dataset {
  readonly source: SourceName;
  /** The dataset root (folder path or source label). */
  readonly root: string;
  /** The label space of `labels`: always {@link PATHOLOGIES}. */
  readonly classes: readonly Pathology[];
  /** Samples whose image is present. */
  readonly size: number;
  /** Indexed samples whose image is not on disk (partial download); they are not part of `size`. */
  readonly missing: number;
  /**
   * Bad samples skipped so far: bad CSV rows at open time plus the distinct bad images met while iterating (an image
   * met again in a later epoch is not counted twice). Shared by the dataset and its subsets.
   */
  readonly skipped: number;
  readonly onBadSample: BadSamplePolicy;
  /** Whether DICOM VOI windows are applied. */
  readonly voi: boolean;
  /** Sample i without its image. */
  entry(i: number): SampleEntry;
  /** All entries, in order. */
  readonly entries: readonly SampleEntry[];
  /** Reads the raw image bytes of sample i. */
  readBytes(i: number): Promise<Uint8Array>;
  /** Reads and decodes sample i. */
  get(i: number): Promise<Sample>;
  /** A view on some samples (same root, same policy), e.g. one split. */
  subset(indices: readonly number[]): Dataset;
  /** Records one more skipped sample (used by the batch stream, which decodes on its own). */
  noteSkipped(i: number, err: unknown): void;
  [Symbol.asyncIterator](): AsyncIterator<Sample>;
}

/** What a loader hands to {@link createDataset}. */
export interface DatasetInit {
  source: SourceName;
  files: FileSource;
  entries: SampleEntry[];
  missing: number;
  skippedAtOpen: number;
  onBadSample: BadSamplePolicy;
  voi: boolean;
  decoder?: ImageDecoder | undefined;
}

/** Builds the {@link Dataset} a loader returns. */
export function createDataset(init: DatasetInit): Dataset {
  return makeDataset(init, init.entries, init.missing, { count: init.skippedAtOpen, files: new Set() });
}

/** What a loader found: its index matched against the files present. */
export interface PresentSamples {
  source: SourceName;
  files: FileSource;
  /** The indexed samples whose image is present. */
  entries: SampleEntry[];
  /** How many samples the index lists. */
  indexed: number;
  /** Where the absent ones were looked for, as the warning names them (`images are not under <root>`). */
  absent: string;
  /** The bad rows counted at open time. */
  bad: { count: number };
}

/**
 * Builds the {@link Dataset} a loader returns from the samples present: the indexed ones whose image is absent count
 * as `missing`, and a partial download is reported once.
 */
export function presentDataset(
  found: PresentSamples,
  opts: Pick<DatasetInit, 'onBadSample' | 'voi' | 'decoder'>,
): Dataset {
  const { source, files, entries, indexed } = found;
  const missing = indexed - entries.length;
  if (missing > 0)
    log.warn(`${source}: ${missing} of ${indexed} ${found.absent}; loading the ${entries.length} present`);
  return createDataset({
    source,
    files,
    entries,
    missing,
    skippedAtOpen: found.bad.count,
    onBadSample: opts.onBadSample,
    voi: opts.voi,
    decoder: opts.decoder,
  });
}

function makeDataset(
  init: DatasetInit,
  entries: readonly SampleEntry[],
  missing: number,
  skipped: { count: number; files: Set<string> },
): Dataset {
  const { files, onBadSample } = init;
  const check = (i: number): SampleEntry => {
    const e = entries[i];
    if (e === undefined || !Number.isInteger(i)) {
      throw new RangeError(`sample index ${i} is outside 0..${entries.length - 1}`);
    }
    return e;
  };
  const ds: Dataset = {
    source: init.source,
    root: files.root,
    classes: PATHOLOGIES,
    size: entries.length,
    missing,
    get skipped() {
      return skipped.count;
    },
    onBadSample,
    voi: init.voi,
    entries,
    entry: check,
    readBytes: (i) => files.read(check(i).file),
    async get(i) {
      const entry = check(i);
      const bytes = await files.read(entry.file);
      return loadSample(entry, bytes, `${files.root}/${entry.file}`, init);
    },
    subset(indices) {
      return makeDataset(
        init,
        indices.map((i) => check(i)),
        0,
        skipped,
      );
    },
    noteSkipped(i, err) {
      // a bad image fails again every epoch (it is never cached): count and report it once
      const file = entries[i]?.file ?? `#${i}`;
      if (skipped.files.has(file)) return;
      skipped.files.add(file);
      skipped.count++;
      log.warn(`${init.source}: skipped sample ${i}: ${err instanceof Error ? err.message : String(err)}`);
    },
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < entries.length; i++) {
        try {
          yield await ds.get(i);
        } catch (err) {
          if (onBadSample === 'fail' || !(err instanceof DataError)) throw err;
          ds.noteSkipped(i, err);
        }
      }
    },
  };
  return ds;
}

/** Decodes an image with the custom decoder when given (falls back to the built-in ones). */
export async function decodeWith(
  bytes: Uint8Array,
  path: string,
  init: Pick<DatasetInit, 'voi' | 'decoder'>,
): Promise<{ image: DecodedImage; dicom?: DicomMeta }> {
  const { image, dicom } = await decodeImageAsync(bytes, path, { voi: init.voi, decoder: init.decoder ?? null });
  return dicom === undefined ? { image } : { image, dicom };
}

/**
 * Entry + image bytes → Sample: decodes, refuses what cannot be a radiograph, adds safe DICOM facts, scales boxes and
 * masks to the image.
 */
export async function loadSample(
  entry: SampleEntry,
  bytes: Uint8Array,
  path: string,
  init: Pick<DatasetInit, 'voi' | 'decoder'>,
): Promise<Sample> {
  const { image, dicom } = await decodeWith(bytes, path, init);
  assertRadiograph(image, path);
  const meta: SampleMeta = { ...entry.meta };
  if (dicom !== undefined) {
    if (meta.viewPosition === undefined && dicom.viewPosition !== undefined) meta.viewPosition = dicom.viewPosition;
    if (meta.modality === undefined && dicom.modality !== undefined) meta.modality = dicom.modality;
    if (meta.pixelSpacing === undefined && dicom.pixelSpacing !== undefined) meta.pixelSpacing = dicom.pixelSpacing;
  }
  const sample: Sample = {
    id: entry.id,
    patientId: entry.patientId,
    source: entry.source,
    image,
    labels: entry.labels,
    tasks: entry.tasks,
    meta,
  };
  if (entry.demographics !== undefined) sample.demographics = entry.demographics;
  const space = entry.annotationSize ?? { width: image.width, height: image.height };
  if (entry.boxes !== undefined)
    sample.boxes = scaleBoxes(entry.boxes, image.width / space.width, image.height / space.height);
  if (entry.maskRle !== undefined) {
    const m = unionOfRle(entry.maskRle, space.width, space.height, path);
    sample.mask =
      m.width === image.width && m.height === image.height ? m : resizeMaskNearest(m, image.width, image.height);
  }
  return sample;
}

function scaleBoxes(boxes: LabeledBox[], sx: number, sy: number): LabeledBox[] {
  if (sx === 1 && sy === 1) return boxes.map((b) => ({ ...b }));
  return boxes.map((b) => ({ label: b.label, x: b.x * sx, y: b.y * sy, width: b.width * sx, height: b.height * sy }));
}

/** OR of the instance masks of one image (SIIM instances overlap; summing them would overflow). */
export function unionOfRle(rles: readonly string[], width: number, height: number, file: string): BinaryMask {
  const data = new Uint8Array(width * height);
  for (const rle of rles) {
    let m: BinaryMask;
    try {
      m = rleDecode(rle, width, height);
    } catch (err) {
      if (err instanceof DataError) throw new DataError(err.message, { ...err.context, file }, { cause: err });
      throw err;
    }
    for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) | (m.data[i] as number);
  }
  return { width, height, data };
}

/** Mask [h, w] → mask [H, W], nearest neighbour on pixel centres. */
export function resizeMaskNearest(mask: BinaryMask, width: number, height: number): BinaryMask {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(mask.height - 1, Math.floor(((y + 0.5) * mask.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(mask.width - 1, Math.floor(((x + 0.5) * mask.width) / width));
      data[y * width + x] = mask.data[sy * mask.width + sx] as number;
    }
  }
  return { width, height, data };
}
