import { DataError } from '@multichexnet/core';
import type { FileSource } from '../io/file-source';
import { readFirstText } from '../io/read-text';

/** The pixel space of the real NIH, RSNA and SIIM label files: the 1024 x 1024 images they were drawn on. */
export const REAL_ANNOTATION_SIZE = 1024;

/**
 * The pixel space a dataset's boxes and RLE masks refer to.
 *
 * A number is taken as given. `'auto'` reads the folder's `synth.json` (written by `synthesize`, which records the
 * space its labels were written in) and otherwise assumes the real datasets' 1024 x 1024 space. Boxes and masks are
 * rescaled from this space to the decoded image's size on load, so downsampled copies of the real data work too.
 */
export async function resolveAnnotationSize(
  files: FileSource,
  option: number | 'auto',
): Promise<{ width: number; height: number }> {
  if (typeof option === 'number') return { width: option, height: option };
  const manifest = await readFirstText(files, ['synth.json'], '.json');
  if (manifest === null) return { width: REAL_ANNOTATION_SIZE, height: REAL_ANNOTATION_SIZE };
  let parsed: unknown;
  try {
    parsed = JSON.parse(manifest.text);
  } catch (e) {
    throw new DataError('synth.json is not valid JSON', { file: `${files.root}/${manifest.path}` }, { cause: e });
  }
  const size = (parsed as { annotationSize?: { width?: unknown; height?: unknown } }).annotationSize;
  const w = size?.width;
  const h = size?.height;
  if (typeof w !== 'number' || typeof h !== 'number' || !(w > 0) || !(h > 0)) {
    throw new DataError('synth.json has no valid annotationSize', {
      file: `${files.root}/${manifest.path}`,
      field: 'annotationSize',
      expected: '{ width: number > 0, height: number > 0 }',
      found: JSON.stringify(size),
    });
  }
  return { width: w, height: h };
}
