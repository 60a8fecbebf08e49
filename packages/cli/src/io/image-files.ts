import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import {
  decodeImageAsync,
  type DecodedImage,
  type ImageDecodeOptions,
  type ImageDecoder,
  type ImageFormat,
} from '@multichexnet/data';
import { UsageError } from '../cli-error';

/** File extensions a folder walk picks up (a file named explicitly is read whatever its name: formats are sniffed). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.dcm', '.dicom'] as const;

/**
 * The image files named by `inputs`: files as given, folders walked recursively for PNG / JPEG / DICOM files
 * (sorted, so the order is stable). A path that does not exist is a {@link UsageError}.
 */
export async function listImageFiles(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    let s;
    try {
      s = await stat(input);
    } catch {
      throw new UsageError(`no such file or folder: ${input}`);
    }
    if (s.isDirectory()) {
      const found = await walk(input);
      if (found.length === 0) throw new UsageError(`no PNG, JPEG or DICOM files in ${input}`);
      out.push(...found);
    } else {
      out.push(input);
    }
  }
  return out;
}

async function walk(dir: string): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const out: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if ((IMAGE_EXTENSIONS as readonly string[]).includes(extname(e.name).toLowerCase())) out.push(p);
  }
  return out;
}

/** One decoded image file: gray pixels (DICOM rescaled, windowed, MONOCHROME1 inverted) and its format. */
export interface ImageFile {
  file: string;
  format: ImageFormat;
  /**
   * The film, or (with `fit` and a native decoder) its model-sized copy: `image.originalSize` then gives the film's
   * size.
   */
  image: DecodedImage;
}

/**
 * Reads and decodes a PNG, JPEG or DICOM file (format from its bytes, every DICOM transfer syntax); a bad file is a
 * DataError naming it. `decoder` (sharp, where Node has it) goes first; with `fit` it may resize for the model.
 */
export async function readImageFile(
  file: string,
  options: { decoder?: ImageDecoder | null; fit?: ImageDecodeOptions['fit'] } = {},
): Promise<ImageFile> {
  const buf = await readFile(file);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const { image, format } = await decodeImageAsync(bytes, file, {
    decoder: options.decoder ?? null,
    ...(options.fit !== undefined ? { fit: options.fit } : {}),
  });
  return { file, format, image };
}
