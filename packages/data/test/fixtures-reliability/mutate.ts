import type { Rng } from '@multichexnet/core';

/*
 * Seeded mutations of valid inputs for the fuzz and bad-input tests: bit flips, byte overwrites, truncations,
 * insertions, deletions, self-splices, and format-aware corruption of the length and size fields of PNG chunks,
 * JPEG marker segments and DICOM elements. Format-aware mutations fix the PNG CRC afterwards where asked, so the
 * decoder gets past its checksum and into the code behind it. Hand-written: the mutations must know these three
 * container layouts, and a few dozen lines do that without a fuzzing framework.
 */

/** One applied mutation, for the failure report (replaying a case needs only seed and index). */
export type Mutation = string;

/** Values that tend to break length and size arithmetic. */
const INTERESTING_U8 = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_U16 = [0, 1, 2, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING_U32 = [0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x10000, 0x1000000];

function setU16be(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
function setU32be(b: Uint8Array, o: number, v: number): void {
  setU16be(b, o, (v >>> 16) & 0xffff);
  setU16be(b, o + 2, v & 0xffff);
}
function setU16le(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}
function setU32le(b: Uint8Array, o: number, v: number): void {
  setU16le(b, o, v & 0xffff);
  setU16le(b, o + 2, (v >>> 16) & 0xffff);
}
function u32be(b: Uint8Array, o: number): number {
  return (
    (((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number)) >>> 0
  );
}

/** PNG's CRC-32 (ISO 3309), for re-sealing mutated chunks. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = (CRC_TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A PNG chunk: offset of its length field, its declared data length and type. */
export interface PngChunk {
  offset: number;
  length: number;
  type: string;
}

/** The chunks of a (possibly damaged) PNG, as far as they can be walked. */
export function pngChunks(b: Uint8Array): PngChunk[] {
  const out: PngChunk[] = [];
  let o = 8;
  while (o + 8 <= b.length) {
    const length = u32be(b, o);
    const type = String.fromCharCode(b[o + 4] as number, b[o + 5] as number, b[o + 6] as number, b[o + 7] as number);
    out.push({ offset: o, length, type });
    if (length > b.length) break;
    o += 12 + length;
  }
  return out;
}

/** Recomputes the CRC of every chunk whose data lies inside the file. */
export function resealPng(b: Uint8Array): void {
  for (const c of pngChunks(b)) {
    const end = c.offset + 8 + c.length;
    if (end + 4 > b.length) break;
    setU32be(b, end, crc32(b.subarray(c.offset + 4, end)));
  }
}

/** A JPEG marker segment with a length field: offset of the 0xFF, marker byte, declared length. */
export interface JpegSegment {
  offset: number;
  marker: number;
  length: number;
}

/** The marker segments before the entropy-coded data of the first scan (and the SOS itself). */
export function jpegSegments(b: Uint8Array): JpegSegment[] {
  const out: JpegSegment[] = [];
  let o = 2;
  while (o + 4 <= b.length && b[o] === 0xff) {
    const marker = b[o + 1] as number;
    const length = ((b[o + 2] as number) << 8) | (b[o + 3] as number);
    out.push({ offset: o, marker, length });
    if (marker === 0xda) break;
    o += 2 + length;
  }
  return out;
}

/** An element of an explicit-VR little-endian DICOM data set: where its length field is and how wide it is. */
export interface DicomElement {
  offset: number;
  tag: number;
  vr: string;
  lengthOffset: number;
  lengthBytes: 2 | 4;
  length: number;
}

const LONG_VRS = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'OD', 'OL', 'UC', 'UR', 'OV']);

/** Walks the explicit-VR little-endian elements of a Part 10 file (meta group and data set) as far as it can. */
export function dicomElements(b: Uint8Array): DicomElement[] {
  const out: DicomElement[] = [];
  let o = 132;
  while (o + 8 <= b.length) {
    const group = (b[o] as number) | ((b[o + 1] as number) << 8);
    const element = (b[o + 2] as number) | ((b[o + 3] as number) << 8);
    const vr = String.fromCharCode(b[o + 4] as number, b[o + 5] as number);
    if (!/^[A-Z]{2}$/.test(vr)) break;
    const long = LONG_VRS.has(vr);
    const lengthOffset = long ? o + 8 : o + 6;
    if (lengthOffset + (long ? 4 : 2) > b.length) break;
    const length = long
      ? ((b[lengthOffset] as number) |
          ((b[lengthOffset + 1] as number) << 8) |
          ((b[lengthOffset + 2] as number) << 16) |
          ((b[lengthOffset + 3] as number) << 24)) >>>
        0
      : (b[lengthOffset] as number) | ((b[lengthOffset + 1] as number) << 8);
    out.push({ offset: o, tag: ((group << 16) | element) >>> 0, vr, lengthOffset, lengthBytes: long ? 4 : 2, length });
    if (length === 0xffffffff) break; // undefined length (encapsulated pixel data): stop walking here
    o = lengthOffset + (long ? 4 : 2) + length;
  }
  return out;
}

/** Which container a base input is, for the format-aware mutations. */
export type Container = 'png' | 'jpeg' | 'dicom' | 'text';

function pickOffset(rng: Rng, n: number): number {
  // half the time near the start, where the headers are
  return rng.bernoulli(0.5) ? rng.int(0, Math.min(n, 512)) : rng.int(0, n);
}

/** One generic byte-level mutation. */
function genericMutation(b: Uint8Array, rng: Rng): { bytes: Uint8Array; what: Mutation } {
  const n = b.length;
  if (n === 0) return { bytes: rng.bernoulli(0.5) ? new Uint8Array([rng.int(0, 256)]) : b, what: 'grow-empty' };
  switch (rng.int(0, 7)) {
    case 0: {
      const k = rng.int(1, 9);
      for (let i = 0; i < k; i++) {
        const o = pickOffset(rng, n);
        b[o] = (b[o] as number) ^ (1 << rng.int(0, 8));
      }
      return { bytes: b, what: `bitflip(${k})` };
    }
    case 1: {
      const o = pickOffset(rng, n);
      b[o] = rng.pick(INTERESTING_U8);
      return { bytes: b, what: `byte(${o})` };
    }
    case 2: {
      const cut = rng.bernoulli(0.5) ? rng.int(0, Math.min(n, 600)) : rng.int(0, n);
      return { bytes: b.slice(0, cut), what: `truncate(${cut})` };
    }
    case 3: {
      const o = pickOffset(rng, n);
      const k = rng.int(1, 65);
      const ins = Uint8Array.from({ length: k }, () => rng.int(0, 256));
      const out = new Uint8Array(n + k);
      out.set(b.subarray(0, o));
      out.set(ins, o);
      out.set(b.subarray(o), o + k);
      return { bytes: out, what: `insert(${o},${k})` };
    }
    case 4: {
      const o = pickOffset(rng, n);
      const k = rng.int(1, Math.max(2, Math.min(256, n - o)));
      const out = new Uint8Array(n - Math.min(k, n - o));
      out.set(b.subarray(0, o));
      out.set(b.subarray(o + k), o);
      return { bytes: out, what: `delete(${o},${k})` };
    }
    case 5: {
      const from = rng.int(0, n);
      const k = rng.int(1, Math.min(128, n - from) + 1);
      const to = pickOffset(rng, n);
      const out = new Uint8Array(n + k);
      out.set(b.subarray(0, to));
      out.set(b.subarray(from, from + k), to);
      out.set(b.subarray(to), to + k);
      return { bytes: out, what: `splice(${from}->${to},${k})` };
    }
    default: {
      const o = pickOffset(rng, Math.max(1, n - 4));
      if (o + 4 <= n) (rng.bernoulli(0.5) ? setU32le : setU32be)(b, o, rng.pick(INTERESTING_U32));
      return { bytes: b, what: `u32(${o})` };
    }
  }
}

/** One mutation that knows the container: length and size fields. */
function structuredMutation(
  b: Uint8Array,
  container: Container,
  rng: Rng,
): { bytes: Uint8Array; what: Mutation } | null {
  if (container === 'png') {
    const chunks = pngChunks(b);
    if (chunks.length === 0) return null;
    const c = rng.pick(chunks);
    if (c.type === 'IHDR' && rng.bernoulli(0.6)) {
      // width / height / depth / colour type / interlace, with the CRC fixed so the decoder believes them
      const field = rng.int(0, 5);
      const o = c.offset + 8;
      if (field < 2) setU32be(b, o + field * 4, rng.bernoulli(0.5) ? rng.pick(INTERESTING_U32) : rng.int(0, 70000));
      else if (o + 8 + (field - 2) < b.length)
        b[o + 8 + (field - 2) * 1 + (field === 4 ? 2 : 0)] = rng.pick([0, 1, 2, 3, 4, 6, 7, 8, 16, 255]);
      resealPng(b);
      return { bytes: b, what: `png-ihdr(${field})` };
    }
    setU32be(b, c.offset, rng.bernoulli(0.5) ? rng.pick(INTERESTING_U32) : Math.max(0, c.length + rng.int(-8, 9)));
    if (rng.bernoulli(0.5)) resealPng(b);
    return { bytes: b, what: `png-len(${c.type})` };
  }
  if (container === 'jpeg') {
    const segs = jpegSegments(b);
    if (segs.length === 0) return null;
    const s = rng.pick(segs);
    if ((s.marker === 0xc0 || s.marker === 0xc2) && rng.bernoulli(0.6)) {
      // SOF: precision, height, width, component count
      const field = rng.int(0, 4);
      const o = s.offset + 4;
      if (field === 0) b[o] = rng.pick([0, 8, 12, 16, 255]);
      else if (field < 3) setU16be(b, o + 1 + (field - 1) * 2, rng.pick(INTERESTING_U16));
      else b[o + 5] = rng.pick([0, 1, 2, 3, 4, 5, 255]);
      return { bytes: b, what: `jpeg-sof(${field})` };
    }
    setU16be(b, s.offset + 2, rng.bernoulli(0.5) ? rng.pick(INTERESTING_U16) : Math.max(0, s.length + rng.int(-8, 9)));
    return { bytes: b, what: `jpeg-len(${s.marker.toString(16)})` };
  }
  if (container === 'dicom') {
    const els = dicomElements(b);
    if (els.length === 0) return null;
    const e = rng.pick(els);
    const valueAt = e.lengthOffset + e.lengthBytes;
    if (rng.bernoulli(0.5) && e.vr === 'US' && valueAt + 2 <= b.length) {
      // Rows, Columns, BitsAllocated, SamplesPerPixel...: a value, not the length
      setU16le(b, valueAt, rng.bernoulli(0.5) ? rng.pick(INTERESTING_U16) : rng.int(0, 40));
      return { bytes: b, what: `dicom-us(${e.tag.toString(16)})` };
    }
    if (
      rng.bernoulli(0.3) &&
      (e.vr === 'DS' || e.vr === 'IS' || e.vr === 'UI' || e.vr === 'CS') &&
      e.length > 0 &&
      valueAt + e.length <= b.length
    ) {
      // a text value replaced by another of the same length (numbers, exponents, UIDs of other syntaxes)
      const pool = [
        '1e999',
        '-1e999',
        'NaN',
        '-0',
        '0',
        '1e-40',
        '3',
        '65535',
        '1.2.840.10008.1.2.4.90',
        '1.2.840.10008.1.2.2',
        '1.2.840.10008.1.2.5',
        'MONOCHROME1',
        'RGB',
        'PALETTE COLOR',
        'YBR_FULL',
      ];
      const text = new TextEncoder().encode(rng.pick(pool).padEnd(e.length, ' ').slice(0, e.length));
      b.set(text, valueAt);
      return { bytes: b, what: `dicom-text(${e.tag.toString(16)})` };
    }
    const v = rng.bernoulli(0.5)
      ? rng.pick(e.lengthBytes === 2 ? INTERESTING_U16 : INTERESTING_U32)
      : Math.max(0, e.length + rng.int(-6, 7));
    (e.lengthBytes === 2 ? setU16le : setU32le)(b, e.lengthOffset, v);
    return { bytes: b, what: `dicom-len(${e.tag.toString(16)})` };
  }
  return null;
}

/**
 * A mutated copy of `base`: 1-3 mutations, a third of them format-aware when the container is known. The input is
 * not changed.
 */
export function mutateBytes(
  base: Uint8Array,
  container: Container,
  rng: Rng,
): { bytes: Uint8Array; mutations: Mutation[] } {
  let bytes: Uint8Array = base.slice();
  const mutations: Mutation[] = [];
  const k = rng.int(1, 4);
  for (let i = 0; i < k; i++) {
    const structured = container !== 'text' && rng.bernoulli(0.4) ? structuredMutation(bytes, container, rng) : null;
    const m = structured ?? genericMutation(bytes, rng);
    bytes = m.bytes;
    mutations.push(m.what);
  }
  if (container === 'png' && rng.bernoulli(0.5)) {
    // past the CRC check, into inflate, unfiltering and the pixel conversion
    resealPng(bytes);
    mutations.push('reseal');
  }
  return { bytes, mutations };
}

/** Text tokens that break number and structure parsing (CSV cells, RLE strings). */
const TEXT_TOKENS = [
  '',
  ' ',
  '-1',
  '-',
  'NaN',
  'nan',
  'Infinity',
  '1e309',
  '-5',
  '0',
  '00',
  '4294967296',
  '99999999999999999999',
  '1.5',
  '0x10',
  ',',
  '"',
  '""',
  '\n',
  '\r\n',
  '\t',
  ',,,,',
  '|',
  '..',
  '../',
  '/etc/passwd',
  '\u0000',
  '\ufeff',
  'é',
  '𝕏',
];

/** A mutated copy of a text: token replacements and insertions, character deletions, line drops and truncation. */
export function mutateText(base: string, rng: Rng): { text: string; mutations: Mutation[] } {
  let text = base;
  const mutations: Mutation[] = [];
  const k = rng.int(1, 4);
  for (let i = 0; i < k; i++) {
    const n = text.length;
    const o = n === 0 ? 0 : rng.int(0, n);
    switch (rng.int(0, 6)) {
      case 0: {
        const tok = rng.pick(TEXT_TOKENS);
        text = text.slice(0, o) + tok + text.slice(o);
        mutations.push(`insert-token(${o})`);
        break;
      }
      case 1: {
        // replace a whole whitespace- or comma-separated token
        const m = /[^\s,]+/g;
        const tokens = [...text.matchAll(m)];
        if (tokens.length > 0) {
          const t = rng.pick(tokens);
          text = text.slice(0, t.index) + rng.pick(TEXT_TOKENS) + text.slice((t.index as number) + t[0].length);
        }
        mutations.push('replace-token');
        break;
      }
      case 2: {
        const len = rng.int(1, 20);
        text = text.slice(0, o) + text.slice(o + len);
        mutations.push(`delete(${o},${len})`);
        break;
      }
      case 3: {
        const lines = text.split('\n');
        if (lines.length > 1) lines.splice(rng.int(0, lines.length), 1);
        text = lines.join('\n');
        mutations.push('drop-line');
        break;
      }
      case 4: {
        text = text.slice(0, o);
        mutations.push(`truncate(${o})`);
        break;
      }
      default: {
        const c = text.charCodeAt(o);
        if (!Number.isNaN(c))
          text = text.slice(0, o) + String.fromCharCode(c ^ (1 << rng.int(0, 7))) + text.slice(o + 1);
        mutations.push(`bitflip(${o})`);
      }
    }
  }
  return { text, mutations };
}
