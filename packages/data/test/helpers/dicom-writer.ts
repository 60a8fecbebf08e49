/*
 * A tiny explicit-VR little-endian DICOM writer for test fixtures (native pixel data, or one encapsulated compressed
 * frame). Hand-written so the decoders' tests do not depend on a DICOM library's writer.
 */
export interface TestElement {
  tag: [number, number];
  vr: string;
  /** string for text VRs, number[] for US/SS, Uint8Array for OB/OW. */
  value: string | number[] | Uint8Array;
  /** Writes the length as undefined (0xFFFFFFFF): `value` is already a sequence of items ending in a delimiter. */
  undefinedLength?: true;
}

const LONG_VRS = new Set(['OB', 'OW', 'SQ', 'UN', 'UT']);

function encodeValue(el: TestElement): Uint8Array {
  if (el.value instanceof Uint8Array)
    return el.value.length % 2 === 0 ? el.value : concat([el.value, new Uint8Array(1)]);
  if (typeof el.value === 'string') {
    const pad = el.vr === 'UI' ? '\0' : ' ';
    const s = el.value.length % 2 === 0 ? el.value : el.value + pad;
    return new TextEncoder().encode(s);
  }
  const out = new Uint8Array(el.value.length * 2);
  const dv = new DataView(out.buffer);
  el.value.forEach((v, i) => (el.vr === 'SS' ? dv.setInt16(i * 2, v, true) : dv.setUint16(i * 2, v, true)));
  return out;
}

function encodeElement(el: TestElement): Uint8Array {
  const value = encodeValue(el);
  const long = LONG_VRS.has(el.vr);
  const head = new Uint8Array(long ? 12 : 8);
  const dv = new DataView(head.buffer);
  dv.setUint16(0, el.tag[0], true);
  dv.setUint16(2, el.tag[1], true);
  head[4] = el.vr.charCodeAt(0);
  head[5] = el.vr.charCodeAt(1);
  if (long) dv.setUint32(8, el.undefinedLength === true ? 0xffffffff : value.length, true);
  else dv.setUint16(6, value.length, true);
  return concat([head, value]);
}

/** An item or delimiter tag (FFFE,xxxx) with its 4-byte length, followed by `body`. */
function itemTag(element: number, body: Uint8Array): Uint8Array {
  const head = new Uint8Array(8);
  const dv = new DataView(head.buffer);
  dv.setUint16(0, 0xfffe, true);
  dv.setUint16(2, element, true);
  dv.setUint32(4, body.length, true);
  return concat([head, body]);
}

/**
 * Encapsulated Pixel Data (PS3.5 A.4) holding one compressed frame: an empty Basic Offset Table item, the frame as
 * one fragment (padded to even length), the sequence delimiter.
 */
export function encapsulatedPixelData(frame: Uint8Array): TestElement {
  const fragment = frame.length % 2 === 0 ? frame : concat([frame, new Uint8Array(1)]);
  const value = concat([
    itemTag(0xe000, new Uint8Array(0)),
    itemTag(0xe000, fragment),
    itemTag(0xe0dd, new Uint8Array(0)),
  ]);
  return { tag: [0x7fe0, 0x0010], vr: 'OB', value, undefinedLength: true };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The value of an SQ element: items of explicit-VR LE elements, each with a defined length. */
export function sequenceValue(items: TestElement[][]): Uint8Array {
  return concat(
    items.map((elements) =>
      itemTag(
        0xe000,
        concat(
          elements
            .slice()
            .sort((a, b) => a.tag[0] - b.tag[0] || a.tag[1] - b.tag[1])
            .map(encodeElement),
        ),
      ),
    ),
  );
}

/** A Part 10 file: preamble, DICM, meta group (explicit LE), then the data set elements (sorted by tag). */
export function writeTestDicom(elements: TestElement[], transferSyntax = '1.2.840.10008.1.2.1'): Uint8Array {
  const metaBody = concat([
    encodeElement({ tag: [0x0002, 0x0001], vr: 'OB', value: new Uint8Array([0, 1]) }),
    encodeElement({ tag: [0x0002, 0x0002], vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' }),
    encodeElement({ tag: [0x0002, 0x0003], vr: 'UI', value: '1.2.3.4.5.6.7' }),
    encodeElement({ tag: [0x0002, 0x0010], vr: 'UI', value: transferSyntax }),
  ]);
  const groupLength = new Uint8Array(4);
  new DataView(groupLength.buffer).setUint32(0, metaBody.length, true);
  const sorted = elements.slice().sort((a, b) => a.tag[0] - b.tag[0] || a.tag[1] - b.tag[1]);
  return concat([
    new Uint8Array(128),
    new TextEncoder().encode('DICM'),
    encodeElement({ tag: [0x0002, 0x0000], vr: 'UL', value: groupLength }),
    metaBody,
    ...sorted.map(encodeElement),
  ]);
}

/** Image pixel module elements for a native monochrome image. */
export function pixelModule(opts: {
  rows: number;
  columns: number;
  bitsAllocated: 8 | 16;
  bitsStored?: number;
  highBit?: number;
  signed?: boolean;
  photometric?: string;
  pixels: Uint8Array;
}): TestElement[] {
  const bs = opts.bitsStored ?? opts.bitsAllocated;
  return [
    { tag: [0x0028, 0x0002], vr: 'US', value: [1] },
    { tag: [0x0028, 0x0004], vr: 'CS', value: opts.photometric ?? 'MONOCHROME2' },
    { tag: [0x0028, 0x0010], vr: 'US', value: [opts.rows] },
    { tag: [0x0028, 0x0011], vr: 'US', value: [opts.columns] },
    { tag: [0x0028, 0x0100], vr: 'US', value: [opts.bitsAllocated] },
    { tag: [0x0028, 0x0101], vr: 'US', value: [bs] },
    { tag: [0x0028, 0x0102], vr: 'US', value: [opts.highBit ?? bs - 1] },
    { tag: [0x0028, 0x0103], vr: 'US', value: [opts.signed === true ? 1 : 0] },
    { tag: [0x7fe0, 0x0010], vr: opts.bitsAllocated === 8 ? 'OB' : 'OW', value: opts.pixels },
  ];
}
