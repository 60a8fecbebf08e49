import { encode as encodePng } from 'fast-png';
import sharp from 'sharp';
import { dicomFilm, dicomNative16, film, pngGray8 } from './bases';
import { dicomElements, jpegSegments, pngChunks, resealPng } from './mutate';
import { pixelModule, writeTestDicom, type TestElement } from '../helpers/dicom-writer';
import { COVID_HEADER, NIH_BOX_HEADER, NIH_HEADER_2017, NIH_ROWS, RSNA_HEADER, SIIM_HEADER } from './label-texts';

/*
 * The corpus of bad inputs: each one made from a valid file or table by one named change, with the words its error
 * must contain (where, what was expected, what was found). Generated at test time; nothing binary is committed.
 */

/** A bad image file and what its DataError must say. */
export interface BadImage {
  name: string;
  file: string;
  bytes: Uint8Array;
  /** Every pattern must match the message. */
  expect: RegExp[];
}

/** A bad label table, the parser that reads it, and what its DataError must say. */
export interface BadTable {
  name: string;
  kind: 'nih' | 'nih-boxes' | 'rsna' | 'siim' | 'covid';
  text: string;
  expect: RegExp[];
  /** A bad row (skipped under onBadSample 'skip') rather than a bad file (always thrown). */
  rowLevel: boolean;
  /** Pixel space of the boxes and runs, when the case is about it. */
  bounds?: { width: number; height: number };
}

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A colourful photo-like picture: sky, grass, a red shape (RGB, 8-bit). */
export function photoRgb(width: number, height: number): Uint8Array {
  const px = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const sky = y < height / 2;
      const red = (x - width * 0.6) ** 2 + (y - height * 0.55) ** 2 < (width * 0.15) ** 2;
      px.set(red ? [200, 30, 40] : sky ? [90 + (y % 7), 150, 230] : [60, 140 + (x % 9), 50], o);
    }
  }
  return px;
}

function withPngSize(png: Uint8Array, width: number, height: number): Uint8Array {
  const b = png.slice();
  const ihdr = pngChunks(b).find((c) => c.type === 'IHDR')!;
  const dv = new DataView(b.buffer);
  dv.setUint32(ihdr.offset + 8, width);
  dv.setUint32(ihdr.offset + 12, height);
  resealPng(b);
  return b;
}

function withJpegSize(jpeg: Uint8Array, width: number, height: number): Uint8Array {
  const b = jpeg.slice();
  const sof = jpegSegments(b).find((s) => s.marker === 0xc0 || s.marker === 0xc2)!;
  const dv = new DataView(b.buffer);
  dv.setUint16(sof.offset + 5, height);
  dv.setUint16(sof.offset + 7, width);
  return b;
}

/** Overwrites the value of a US element of a DICOM in place. */
function setDicomUs(b: Uint8Array, tag: number, value: number): Uint8Array {
  const out = b.slice();
  const e = dicomElements(out).find((el) => el.tag === tag)!;
  new DataView(out.buffer).setUint16(e.lengthOffset + e.lengthBytes, value, true);
  return out;
}

/** The bad image files (DICOMs carry fake PHI, which no message may repeat). */
export async function badImageFiles(): Promise<BadImage[]> {
  const png = pngGray8(64, 1);
  const gray = (size: number, seed: number) =>
    sharp(Buffer.from(film(size, seed)), { raw: { width: size, height: size, channels: 1 } });
  const jpeg = new Uint8Array(await gray(64, 2).toColourspace('b-w').jpeg({ quality: 85 }).toBuffer());
  const dcmNative = await dicomFilm(48, 3, 'explicit-vr-little-endian');
  const dcmJpeg = await dicomFilm(64, 4, 'jpeg-baseline');
  const px32 = film(32, 5);
  const native = (extra: TestElement[], rows = 32, ts?: string, pixels = px32): Uint8Array =>
    writeTestDicom([...pixelModule({ rows, columns: 32, bitsAllocated: 8, pixels }), ...extra], ts);
  const photo = photoRgb(64, 48);
  const corruptIdat = png.slice();
  const idat = pngChunks(corruptIdat).find((c) => c.type === 'IDAT')!;
  corruptIdat.fill(0xff, idat.offset + 8, idat.offset + 8 + Math.min(40, idat.length));
  resealPng(corruptIdat);
  const corruptJpeg = jpeg.slice();
  const dht = jpegSegments(corruptJpeg).find((s) => s.marker === 0xc4)!;
  corruptJpeg.fill(0xff, dht.offset + 5, dht.offset + 2 + dht.length);
  const threeFrames = new Uint8Array(32 * 32 * 3);
  for (let k = 0; k < 3; k++) threeFrames.set(px32, k * px32.length);
  const dcmCorrupt = dcmNative.slice();
  dcmCorrupt.fill(0xff, 140, 220);

  const file = (f: string) => new RegExp(`file ${esc(f)}`);
  return [
    {
      name: 'truncated PNG',
      file: 'cut.png',
      bytes: png.slice(0, png.length >> 1),
      expect: [/PNG cannot be decoded/, file('cut.png'), /expected a valid PNG/],
    },
    {
      name: 'PNG with a corrupt IDAT (CRC fixed)',
      file: 'idat.png',
      bytes: corruptIdat,
      expect: [/PNG cannot be decoded/, file('idat.png'), /found .*Error/],
    },
    {
      name: 'PNG cut inside its signature',
      file: 'sig.png',
      bytes: png.slice(0, 6),
      expect: [
        /Image format is not recognised/,
        file('sig.png'),
        /expected PNG, JPEG or DICOM/,
        /found first bytes 89 50 4e 47/,
      ],
    },
    {
      name: 'truncated JPEG',
      file: 'cut.jpg',
      bytes: jpeg.slice(0, jpeg.length >> 1),
      expect: [/JPEG cannot be decoded/, file('cut.jpg'), /expected an 8-bit baseline or progressive JPEG/],
    },
    {
      name: 'JPEG with a garbage Huffman table',
      file: 'dht.jpg',
      bytes: corruptJpeg,
      expect: [/JPEG cannot be decoded/, file('dht.jpg')],
    },
    {
      name: 'truncated DICOM (native)',
      file: 'cut.dcm',
      bytes: dcmNative.slice(0, dcmNative.length - 500),
      expect: [
        /DICOM file cannot be parsed/,
        file('cut.dcm'),
        /expected a DICOM Part 10 file/,
        /found .*buffer overrun/,
      ],
    },
    {
      name: 'truncated DICOM (JPEG Baseline)',
      file: 'cutjpeg.dcm',
      bytes: dcmJpeg.slice(0, dcmJpeg.length - 300),
      expect: [/DICOM/, file('cutjpeg.dcm')],
    },
    {
      name: 'DICOM with a corrupt meta header',
      file: 'meta.dcm',
      bytes: dcmCorrupt,
      expect: [/DICOM/, file('meta.dcm')],
    },
    {
      name: 'DICOM without pixel data',
      file: 'nopixels.dcm',
      bytes: writeTestDicom(
        pixelModule({ rows: 32, columns: 32, bitsAllocated: 8, pixels: px32 }).filter((e) => e.tag[0] !== 0x7fe0),
      ),
      expect: [/DICOM file has no pixel data/, file('nopixels.dcm'), /field \(7FE0,0010\) PixelData/],
    },
    {
      name: 'DICOM in JPEG Extended (unsupported transfer syntax)',
      file: 'extended.dcm',
      bytes: native([], 32, '1.2.840.10008.1.2.4.51'),
      expect: [
        /DICOM transfer syntax is not supported/,
        file('extended.dcm'),
        /field \(0002,0010\) TransferSyntaxUID/,
        /expected 1\.2\.840\.10008\.1\.2 \(Implicit VR Little Endian\)/,
        /found 1\.2\.840\.10008\.1\.2\.4\.51$/,
      ],
    },
    {
      name: 'DICOM in MPEG-2 (unsupported transfer syntax)',
      file: 'mpeg.dcm',
      bytes: native([], 32, '1.2.840.10008.1.2.4.100'),
      expect: [/transfer syntax is not supported/, /found 1\.2\.840\.10008\.1\.2\.4\.100$/],
    },
    {
      name: 'DICOM saying JPEG 2000 over native pixels',
      file: 'j2k.dcm',
      bytes: native([], 32, '1.2.840.10008.1.2.4.90'),
      expect: [/DICOM compressed pixel data is not encapsulated/, file('j2k.dcm'), /field \(7FE0,0010\) PixelData/],
    },
    {
      name: '3-frame DICOM',
      file: 'cine.dcm',
      bytes: native([{ tag: [0x0028, 0x0008], vr: 'IS', value: '3' }], 32, undefined, threeFrames),
      expect: [
        /several frames, not one radiograph/,
        file('cine.dcm'),
        /field \(0028,0008\) NumberOfFrames/,
        /expected 1, found 3/,
      ],
    },
    {
      name: 'DICOM declaring 65535 x 65535 pixels',
      file: 'huge.dcm',
      bytes: setDicomUs(setDicomUs(native([]), 0x00280010, 65535), 0x00280011, 65535),
      expect: [/shorter than one frame/, file('huge.dcm'), /expected >= 4294836225 bytes, found 1024 bytes/],
    },
    {
      name: 'DICOM JPEG frame bigger than Rows/Columns',
      file: 'jpegsize.dcm',
      bytes: setDicomUs(dcmJpeg, 0x00280010, 32),
      expect: [/DICOM JPEG size disagrees with Rows\/Columns/, /expected 64x32, found 64x64/],
    },
    {
      name: 'DICOM RescaleSlope 1e999',
      file: 'slope.dcm',
      bytes: native([{ tag: [0x0028, 0x1053], vr: 'DS', value: '1e999' }]),
      expect: [/rescale value is not a finite number/, /field \(0028,1053\) RescaleSlope/, /found "1e999"/],
    },
    {
      name: 'DICOM RescaleSlope 0',
      file: 'slope0.dcm',
      bytes: native([{ tag: [0x0028, 0x1053], vr: 'DS', value: '0' }]),
      expect: [/RescaleSlope is zero/, file('slope0.dcm')],
    },
    {
      name: 'DICOM with BitsAllocated 12',
      file: 'bits.dcm',
      bytes: setDicomUs(native([]), 0x00280100, 12),
      expect: [/BitsAllocated is not supported/, /expected 8 or 16, found 12/],
    },
    {
      name: '1x1 PNG',
      file: 'dot.png',
      bytes: encodePng({ width: 1, height: 1, data: new Uint8Array([128]), channels: 1, depth: 8 }),
      expect: [/too small to be a chest X-ray/, file('dot.png'), /expected at least 16 x 16 pixels, found 1 x 1/],
    },
    {
      name: '8x300 PNG strip',
      file: 'strip.png',
      bytes: encodePng({ width: 8, height: 300, data: new Uint8Array(2400), channels: 1, depth: 8 }),
      expect: [/too small/, /found 8 x 300/],
    },
    {
      name: 'PNG header declaring 60000 x 60000',
      file: 'huge.png',
      bytes: withPngSize(png, 60000, 60000),
      expect: [
        /PNG header declares an image too large to decode/,
        file('huge.png'),
        /expected at most 33554432 pixels, found 60000 x 60000/,
      ],
    },
    {
      name: 'JPEG header declaring 65000 x 65000',
      file: 'huge.jpg',
      bytes: withJpegSize(jpeg, 65000, 65000),
      expect: [/JPEG header declares an image too large to decode/, /found 65000 x 65000/],
    },
    {
      name: 'RGB photo as PNG',
      file: 'holiday.png',
      bytes: encodePng({ width: 64, height: 48, data: photo, channels: 3, depth: 8 }),
      expect: [
        /colour picture, not a grayscale X-ray/,
        file('holiday.png'),
        /expected gray pixels \(at most 5% coloured\), found 100\.0% coloured/,
      ],
    },
    {
      name: 'RGB photo as JPEG',
      file: 'holiday.jpg',
      bytes: new Uint8Array(
        await sharp(Buffer.from(photo), { raw: { width: 64, height: 48, channels: 3 } })
          .jpeg({ quality: 90 })
          .toBuffer(),
      ),
      expect: [/colour picture/, file('holiday.jpg'), /found (9\d|100)\.\d% coloured/],
    },
    {
      name: 'empty file',
      file: 'empty.png',
      bytes: new Uint8Array(0),
      expect: [/Image format is not recognised/, /found an empty file/],
    },
    {
      name: 'a text file named .png',
      file: 'notes.png',
      bytes: new TextEncoder().encode('patient notes, not an image'),
      expect: [/Image format is not recognised/, /found first bytes 70 61 74 69/],
    },
    {
      name: 'DICOM cut inside its meta header',
      file: 'head.dcm',
      bytes: dicomNative16(32, 6).slice(0, 200),
      expect: [/DICOM file cannot be parsed/, file('head.dcm')],
    },
  ];
}

/** The bad label tables. */
export function badLabelTables(): BadTable[] {
  const nih = (rows: string[], header = NIH_HEADER_2017) => `${[header, ...rows].join('\n')}\n`;
  const rsna = (rows: string[], header = RSNA_HEADER) => `${[header, ...rows].join('\n')}\n`;
  const siim = (rows: string[], header = SIIM_HEADER) => `${[header, ...rows].join('\n')}\n`;
  const id = '00436515-870c-4b36-a041-de91049b9ab4';
  const uid = '1.2.276.0.7230010.3.1.4.8323329.12743.1517875241.599591';
  return [
    {
      name: 'NIH index without Patient Age',
      kind: 'nih',
      text: nih(['00000001_000.png,Mass,0,1,M,PA,1,1,0.1,0.1,'], NIH_HEADER_2017.replace('Patient Age,', '')),
      expect: [/NIH label index lacks a column/, /row 1/, /field Patient Age/, /expected present in the header/],
      rowLevel: false,
    },
    {
      name: 'NIH index with a wrong first column',
      kind: 'nih',
      text: nih(NIH_ROWS, NIH_HEADER_2017.replace('Image Index', 'Image')),
      expect: [/Not an NIH label index/, /row 1, field header/, /expected first column "Image Index", found "Image"/],
      rowLevel: false,
    },
    {
      name: 'NIH row with a NaN label',
      kind: 'nih',
      text: nih([NIH_ROWS[0]!, '00000003_000.png,NaN,0,3,40,F,PA,1,1,0.1,0.1,']),
      expect: [/Bad NIH label row/, /row 3/, /field Finding Labels/, /found "NaN"/],
      rowLevel: true,
    },
    {
      name: 'NIH row with an unknown label',
      kind: 'nih',
      text: nih(['00000003_000.png,Mass|Fracture,0,3,40,F,PA,1,1,0.1,0.1,']),
      expect: [/row 2/, /field Finding Labels/, /found "Fracture"/],
      rowLevel: true,
    },
    {
      name: 'NIH row with a bad age',
      kind: 'nih',
      text: nih(['00000003_000.png,Mass,0,3,-5,F,PA,1,1,0.1,0.1,']),
      expect: [/row 2/, /field Patient Age/, /expected 58 or 058Y, found "-5"/],
      rowLevel: true,
    },
    {
      name: 'NIH row with a bad follow-up number',
      kind: 'nih',
      text: nih(['00000003_000.png,Mass,1.5,3,40,F,PA,1,1,0.1,0.1,']),
      expect: [/row 2/, /field Follow-up #/, /found "1\.5"/],
      rowLevel: true,
    },
    {
      name: 'NIH row with a missing field',
      kind: 'nih',
      text: nih(['00000003_000.png,Mass,0,3,40,F']),
      expect: [/row 2/, /field \(row\)/, /found 6 fields/],
      rowLevel: true,
    },
    {
      name: 'NIH row naming a non-PNG file',
      kind: 'nih',
      text: nih(['../../etc/passwd,Mass,0,3,40,F,PA,1,1,0.1,0.1,']),
      expect: [/row 2/, /field Image Index/, /expected a \.png file name/],
      rowLevel: true,
    },
    {
      name: 'NIH box outside the image',
      kind: 'nih-boxes',
      text: `${NIH_BOX_HEADER}\n00000001_000.png,Mass,900,100,200,50\n`,
      expect: [
        /Bad NIH BBox row/,
        /row 2/,
        /field Bbox \[x,y,w,h\]/,
        /expected a box inside the 1024x1024 image, found 900,100,200,50/,
      ],
      rowLevel: true,
      bounds: { width: 1024, height: 1024 },
    },
    {
      name: 'NIH box with a negative corner',
      kind: 'nih-boxes',
      text: `${NIH_BOX_HEADER}\n00000001_000.png,Mass,-3,100,20,50\n`,
      expect: [/row 2/, /inside the 1024x1024 image/, /found -3,100,20,50/],
      rowLevel: true,
      bounds: { width: 1024, height: 1024 },
    },
    {
      name: 'NIH box with NaN',
      kind: 'nih-boxes',
      text: `${NIH_BOX_HEADER}\n00000001_000.png,Mass,NaN,100,20,50\n`,
      expect: [/row 2/, /expected finite numbers, w and h > 0, found NaN,100,20,50/],
      rowLevel: true,
    },
    {
      name: 'RSNA labels with a wrong header',
      kind: 'rsna',
      text: rsna([`${id},,,,,0`], 'patientId,x,y,w,h,Target'),
      expect: [
        /Not an RSNA label file/,
        /row 1, field header/,
        /expected patientId,x,y,width,height,Target, found patientId,x,y,w,h,Target/,
      ],
      rowLevel: false,
    },
    {
      name: 'RSNA labels without the Target column',
      kind: 'rsna',
      text: rsna([`${id},,,,`], 'patientId,x,y,width,height'),
      expect: [/Not an RSNA label file/, /found patientId,x,y,width,height$/],
      rowLevel: false,
    },
    {
      name: 'RSNA row with Target NaN',
      kind: 'rsna',
      text: rsna([`${id},,,,,NaN`]),
      expect: [/Bad RSNA label row/, /row 2/, /field Target/, /expected 0 or 1, found "NaN"/],
      rowLevel: true,
    },
    {
      name: 'RSNA row with a non-numeric box',
      kind: 'rsna',
      text: rsna([`${id},264.0,abc,213.0,379.0,1`]),
      expect: [/row 2/, /field x,y,width,height/, /found 264\.0,abc,213\.0,379\.0/],
      rowLevel: true,
    },
    {
      name: 'RSNA box outside the image',
      kind: 'rsna',
      text: rsna([`${id},900.0,152.0,213.0,379.0,1`]),
      expect: [/row 2/, /expected a box inside the 1024x1024 image, found 900\.0,152\.0,213\.0,379\.0/],
      rowLevel: true,
      bounds: { width: 1024, height: 1024 },
    },
    {
      name: 'RSNA row with a bad patientId',
      kind: 'rsna',
      text: rsna(['../../x,,,,,0']),
      expect: [/row 2/, /field patientId/, /expected a lower-case UUID/],
      rowLevel: true,
    },
    {
      name: 'RSNA patient mixing Target values',
      kind: 'rsna',
      text: rsna([`${id},264.0,152.0,213.0,379.0,1`, `${id},,,,,0`]),
      expect: [/row 3/, /field Target/],
      rowLevel: true,
    },
    {
      name: 'SIIM table with a wrong header',
      kind: 'siim',
      text: siim([`${uid}, -1`], 'ImageId,Mask'),
      expect: [/Not a SIIM RLE file/, /row 1, field header/, /expected ImageId, EncodedPixels/],
      rowLevel: false,
    },
    {
      name: 'SIIM RLE overflowing the mask',
      kind: 'siim',
      text: siim([`${uid}, 1048500 100`]),
      expect: [
        /Bad SIIM RLE row/,
        /row 2/,
        /field EncodedPixels/,
        /expected runs within 1024x1024 = 1048576 pixels, found a run ending at 1048600/,
      ],
      rowLevel: true,
      bounds: { width: 1024, height: 1024 },
    },
    {
      name: 'SIIM RLE with an odd number of values',
      kind: 'siim',
      text: siim([`${uid}, 10 20 30`]),
      expect: [/row 2/, /field EncodedPixels/, /expected -1 or pairs of integers/],
      rowLevel: true,
    },
    {
      name: 'SIIM RLE with a negative value',
      kind: 'siim',
      text: siim([`${uid}, 10 -20`]),
      expect: [/row 2/, /field EncodedPixels/, /found "10 -20"/],
      rowLevel: true,
    },
    {
      name: 'SIIM row with a NaN ImageId',
      kind: 'siim',
      text: siim(['NaN, -1']),
      expect: [/row 2/, /field ImageId/, /expected a DICOM UID, found "NaN"/],
      rowLevel: true,
    },
    {
      name: 'COVID metadata without filename',
      kind: 'covid',
      text: `${COVID_HEADER.replace('filename,', '')}\n`,
      expect: [/Not a COVID-19 collection metadata file/, /row 1, field filename/],
      rowLevel: false,
    },
    {
      name: 'COVID row whose path leaves the root',
      kind: 'covid',
      text: `${COVID_HEADER}\n2,0,M,65,Pneumonia,,,,,,,,,,,,,,PA,X-ray,2020,,images,../../../etc/shadow.png,,,,,,\n`,
      expect: [
        /Path leaves the dataset root/,
        /row 2/,
        /field path/,
        /found "images\/\.\.\/\.\.\/\.\.\/etc\/shadow\.png"/,
      ],
      rowLevel: false,
    },
    {
      name: 'COVID row with an absolute path',
      kind: 'covid',
      text: `${COVID_HEADER}\n2,0,M,65,Pneumonia,,,,,,,,,,,,,,PA,X-ray,2020,,/etc,passwd.png,,,,,,\n`,
      expect: [/Path leaves the dataset root/, /found "\/etc\/passwd\.png"/],
      rowLevel: false,
    },
    {
      name: 'CSV with broken quoting',
      kind: 'rsna',
      text: `${RSNA_HEADER}\n"${id},,,,,0\n`,
      expect: [/CSV quoting is malformed/, /row/, /expected RFC 4180 quoting/],
      rowLevel: false,
    },
  ];
}
