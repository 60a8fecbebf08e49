import type { DecodedImage } from '@multichexnet/data/decode';

/**
 * Decoded image [H, W] → an 8-hex-digit FNV-1a digest of its size, range and every value (as float32 bits). The
 * viewer writes it into `data-image-digest`, so the end-to-end test can check that the page decoded a file to the
 * same pixels as Node does without reading millions of values back.
 *
 * @example
 * imageDigest({ width: 1, height: 1, data: new Uint8Array([7]), maxValue: 255 }); // '3c5d64c9'
 */
export function imageDigest(image: DecodedImage): string {
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  let h = 0x811c9dc5;
  const mix = (v: number): void => {
    f[0] = v;
    h = Math.imul(h ^ (bits[0] as number), 16777619);
  };
  mix(image.width);
  mix(image.height);
  mix(image.maxValue);
  for (let i = 0; i < image.data.length; i++) mix(image.data[i] as number);
  return (h >>> 0).toString(16).padStart(8, '0');
}
