import { constants, crc32, deflateRawSync } from 'node:zlib';

/*
 * Inputs built to hurt a server: each is small on the wire and huge once decoded. The big parts are made of
 * repeated sync-flushed deflate segments (a valid deflate stream may be any number of blocks, each segment here
 * ends on a byte boundary), so building a gigabyte bomb costs one 16 MiB buffer.
 */

/** A raw deflate stream of `prefix` followed by `zeros` zero bytes (a multiple of `chunk`), without holding them. */
function deflatedZeros(prefix: Uint8Array, zeros: number, chunk = 16 * 1024 * 1024): Buffer {
  if (zeros % chunk !== 0) throw new Error(`zeros must be a multiple of ${chunk}`);
  const flush = { finishFlush: constants.Z_SYNC_FLUSH };
  const segment = deflateRawSync(Buffer.alloc(chunk), flush);
  const parts = [
    deflateRawSync(prefix, flush),
    ...Array.from({ length: zeros / chunk }, () => segment),
    deflateRawSync(Buffer.alloc(0)),
  ];
  return Buffer.concat(parts);
}

/** One explicit-VR little-endian element. */
function element(group: number, elem: number, vr: string, value: Uint8Array, declaredLength = value.length): Buffer {
  const long = ['OB', 'OW', 'UN', 'SQ', 'UT'].includes(vr);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elem, 2);
  head.write(vr, 4, 'latin1');
  if (long) head.writeUInt32LE(declaredLength, 8);
  else head.writeUInt16LE(declaredLength, 6);
  return Buffer.concat([head, value]);
}
const ui = (uid: string): Buffer => Buffer.from(uid.length % 2 === 0 ? uid : `${uid}\0`, 'latin1');
const us = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const cs = (s: string): Buffer => Buffer.from(s.length % 2 === 0 ? s : `${s} `, 'latin1');

/** A Part 10 file: preamble, file meta group (with its group length) for `transferSyntax`, then `dataSet` as given. */
function part10(transferSyntax: string, dataSet: Uint8Array): Buffer {
  const meta = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 0x0002, 'UI', ui('1.2.840.10008.5.1.4.1.1.1')),
    element(0x0002, 0x0003, 'UI', ui('2.25.1234567890')),
    element(0x0002, 0x0010, 'UI', ui(transferSyntax)),
    element(0x0002, 0x0012, 'UI', ui('2.25.42')),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(meta.length);
  return Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM', 'latin1'),
    element(0x0002, 0x0000, 'UL', groupLength),
    meta,
    dataSet,
  ]);
}

/** The image pixel module of a 16-bit MONOCHROME2 image, and its pixel data header (OW, `rows * columns * 2` bytes). */
function pixelModule(rows: number, columns: number): Buffer {
  return Buffer.concat([
    element(0x0008, 0x0060, 'CS', cs('CR')),
    element(0x0028, 0x0002, 'US', us(1)),
    element(0x0028, 0x0004, 'CS', cs('MONOCHROME2')),
    element(0x0028, 0x0010, 'US', us(rows)),
    element(0x0028, 0x0011, 'US', us(columns)),
    element(0x0028, 0x0100, 'US', us(16)),
    element(0x0028, 0x0101, 'US', us(16)),
    element(0x0028, 0x0102, 'US', us(15)),
    element(0x0028, 0x0103, 'US', us(0)),
    element(0x7fe0, 0x0010, 'OW', Buffer.alloc(0), rows * columns * 2),
  ]);
}

export const DEFLATED = '1.2.840.10008.1.2.1.99';

/**
 * A deflated explicit-VR little-endian DICOM whose data set inflates to `rows * columns * 2` bytes of zero pixels
 * plus its header: 16384 x 32768 is a 1 GiB data set in about 1 MiB of file.
 */
export function deflateBombDicom(rows = 16384, columns = 32768): Buffer {
  return part10(DEFLATED, deflatedZeros(pixelModule(rows, columns), rows * columns * 2));
}

/** A small, well-formed deflated DICOM (64 x 64 pixels of a gradient): what a bound must let through. */
export function smallDeflatedDicom(): Buffer {
  const pixels = Buffer.alloc(64 * 64 * 2);
  for (let i = 0; i < 64 * 64; i++) pixels.writeUInt16LE((i % 64) * 1000, i * 2);
  return part10(DEFLATED, deflateRawSync(Buffer.concat([pixelModule(64, 64), pixels])));
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * A valid 8-bit gray PNG of `side` x `side` zero pixels (16000: 256 M pixels) in about a quarter of a megabyte: a
 * decompression bomb that declares what it holds.
 */
export function pngBomb(side = 16000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; // bit depth; colour type 0 (gray), no interlace
  const rowsPerChunk = 1000;
  if (side % rowsPerChunk !== 0) throw new Error(`side must be a multiple of ${rowsPerChunk}`);
  const total = side * (side + 1); // each row: filter byte 0 + pixels
  // zlib stream: header, the deflate blocks, Adler-32 of all-zero data (a = 1, b = length mod 65521).
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE((((total % 65521) << 16) | 1) >>> 0);
  const idat = Buffer.concat([
    Buffer.from([0x78, 0x01]),
    deflatedZeros(new Uint8Array(0), total, rowsPerChunk * (side + 1)),
    adler,
  ]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

/** A multipart body of `fields` small text fields, then (optionally) files: far more parts than one upload has. */
export function manyPartsBody(fields: number, files = 0): { body: Buffer; type: string } {
  const boundary = '----mcx-many-parts';
  const parts: string[] = [];
  for (let i = 0; i < files; i++)
    parts.push(
      `--${boundary}\r\nContent-Disposition: form-data; name="file${i}"; filename="f${i}.png"\r\nContent-Type: image/png\r\n\r\nxx\r\n`,
    );
  for (let i = 0; i < fields; i++)
    parts.push(`--${boundary}\r\nContent-Disposition: form-data; name="field${i}"\r\n\r\nv\r\n`);
  return {
    body: Buffer.from(`${parts.join('')}--${boundary}--\r\n`, 'latin1'),
    type: `multipart/form-data; boundary=${boundary}`,
  };
}
