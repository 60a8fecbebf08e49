import { z } from '@multichexnet/core';
import type { FileSource } from '../io/file-source';
import type { ImageDecoder } from './dataset';

function isFileSource(v: unknown): v is FileSource {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as FileSource).read === 'function' &&
    typeof (v as FileSource).list === 'function' &&
    typeof (v as FileSource).exists === 'function'
  );
}

/** Options every loader takes (each loader's schema extends this one). */
export const BaseDatasetOptionsSchema = z.object({
  /** A folder path (Node) or a FileSource (browser, tests). */
  root: z.union([
    z.string().min(1),
    z.custom<FileSource>(isFileSource, { message: 'must be a folder path or a FileSource' }),
  ]),
  /** Bad CSV rows and undecodable images: 'fail' throws the DataError, 'skip' counts them in `skipped`. */
  onBadSample: z.enum(['skip', 'fail']).default('fail'),
  /**
   * Pixel space of the label files' boxes and RLE masks: a side length, or 'auto' (the folder's synth.json if
   * present, else the real datasets' 1024). Boxes and masks are rescaled to the decoded image on load.
   */
  annotationSize: z.union([z.literal('auto'), z.number().int().positive()]).default('auto'),
  /** Apply DICOM VOI windows when present. */
  voi: z.boolean().default(true),
  /** Optional custom decoder for PNG/JPEG (e.g. sharp in Node); null from it falls back to the built-in one. */
  decoder: z.custom<ImageDecoder>((v) => typeof v === 'function', { message: 'must be a function' }).optional(),
});
