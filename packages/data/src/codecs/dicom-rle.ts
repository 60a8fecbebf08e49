import type { CodecFrame } from './dicom-frame-codecs';

/*
 * DICOM RLE Lossless (1.2.840.10008.1.2.5, PS3.5 Annex G). Hand-written: the only npm decoders of it live inside
 * whole viewers (e.g. @cornerstonejs/dicom-image-loader), and the format is small: a 64-byte header of segment
 * offsets, then one PackBits-coded byte plane per segment (most significant byte of each sample first, one
 * component after another). Synchronous and plain JavaScript, so it needs no lazy loading.
 */

/**
 * One RLE frame → samples [components planes of height x width], planar. Throws an Error saying what is wrong
 * with the frame (segment count, offsets, a segment that ends early or runs over).
 */
export function decodeRleFrame(
  frame: Uint8Array,
  width: number,
  height: number,
  bitsAllocated: 8 | 16,
  components: number,
): CodecFrame {
  const n = width * height;
  const bytesPerSample = bitsAllocated / 8;
  const expected = components * bytesPerSample;
  if (frame.length < 64) throw new Error(`frame of ${frame.length} bytes has no 64-byte RLE header`);
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segments = dv.getUint32(0, true);
  if (segments !== expected)
    throw new Error(
      `${segments} RLE segments, expected ${expected} (${components} component(s) x ${bytesPerSample} byte(s))`,
    );
  const offsets: number[] = [];
  for (let s = 0; s < segments; s++) offsets.push(dv.getUint32(4 + 4 * s, true));
  const plane = new Uint8Array(n);
  const samples = bytesPerSample === 1 ? new Uint8Array(n * components) : new Uint16Array(n * components);
  for (let s = 0; s < segments; s++) {
    const start = offsets[s] as number;
    const end = s + 1 < segments ? (offsets[s + 1] as number) : frame.length;
    if (start < 64 || end > frame.length || start >= end)
      throw new Error(`RLE segment ${s + 1} has offsets ${start}..${end} outside the ${frame.length}-byte frame`);
    unpackBits(frame, start, end, plane, s + 1);
    const component = Math.floor(s / bytesPerSample);
    const base = component * n;
    if (bytesPerSample === 1) {
      samples.set(plane, base);
    } else if (s % 2 === 0) {
      for (let i = 0; i < n; i++) samples[base + i] = (plane[i] as number) << 8;
    } else {
      for (let i = 0; i < n; i++) samples[base + i] = (samples[base + i] as number) | (plane[i] as number);
    }
  }
  return { width, height, components, samples, planar: components > 1 };
}

/**
 * PackBits: a header byte h >= 0 copies h + 1 literal bytes, -127..-1 repeats the next byte 1 - h times, -128 is a
 * no-op.
 */
function unpackBits(src: Uint8Array, start: number, end: number, out: Uint8Array, segment: number): void {
  let i = start;
  let o = 0;
  const n = out.length;
  while (o < n) {
    if (i >= end) throw new Error(`RLE segment ${segment} ends after ${o} of ${n} bytes`);
    const h = ((src[i++] as number) << 24) >> 24;
    if (h >= 0) {
      const count = h + 1;
      if (i + count > end) throw new Error(`RLE segment ${segment} has a literal run past its end`);
      // a run past the plane's end (some encoders pad) is cut: the plane is never written out of bounds
      const take = Math.min(count, n - o);
      out.set(src.subarray(i, i + take), o);
      i += count;
      o += take;
    } else if (h !== -128) {
      const count = 1 - h;
      if (i >= end) throw new Error(`RLE segment ${segment} has a repeat run past its end`);
      const take = Math.min(count, n - o);
      out.fill(src[i++] as number, o, o + take);
      o += take;
    }
  }
}
