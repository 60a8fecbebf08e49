import type { BinaryMask, Box } from '@multichexnet/core';
import type { SynthConfig } from './config';

/*
 * The pixel space annotations are written in (see `annotationSpace` in the config): the image's own pixels,
 * or the 1024 x 1024 space of the real NIH / RSNA / SIIM label files.
 */

/** Side of the real datasets' annotation space. */
export const ORIGINAL_ANNOTATION_SIZE = 1024;

/** Side of the annotation space of a configuration. */
export function annotationSide(cfg: SynthConfig): number {
  return cfg.annotationSpace === 'original' ? ORIGINAL_ANNOTATION_SIZE : cfg.size;
}

/** A box in image pixels -> the annotation space (exact scale; RSNA rounds afterwards). */
export function boxToAnnotation(cfg: SynthConfig, b: Box): Box {
  const k = annotationSide(cfg) / cfg.size;
  return { x: b.x * k, y: b.y * k, width: b.width * k, height: b.height * k };
}

/** A mask [H, W] in image pixels -> the annotation space, nearest neighbour on pixel centres. */
export function maskToAnnotation(cfg: SynthConfig, m: BinaryMask): BinaryMask {
  const side = annotationSide(cfg);
  if (side === m.width && side === m.height) return m;
  const data = new Uint8Array(side * side);
  const xs = new Int32Array(side);
  for (let x = 0; x < side; x++) xs[x] = Math.min(m.width - 1, Math.floor(((x + 0.5) * m.width) / side));
  for (let y = 0; y < side; y++) {
    const sy = Math.min(m.height - 1, Math.floor(((y + 0.5) * m.height) / side));
    const src = sy * m.width;
    const dst = y * side;
    for (let x = 0; x < side; x++) data[dst + x] = m.data[src + (xs[x] as number)] as number;
  }
  return { width: side, height: side, data };
}

/** The per-dataset `synth.json`: marks a folder as synthetic and records its image and annotation sizes. */
export function datasetManifest(
  cfg: SynthConfig,
  dataset: 'nih' | 'rsna' | 'siim' | 'covid',
  generatorVersion: number,
): string {
  const side = dataset === 'covid' ? cfg.size : annotationSide(cfg);
  return `${JSON.stringify(
    {
      generator: '@multichexnet/synth synthesize',
      generatorVersion,
      dataset,
      seed: cfg.seed,
      imageSize: { width: cfg.size, height: cfg.size },
      annotationSize: { width: side, height: side },
    },
    null,
    2,
  )}\n`;
}
