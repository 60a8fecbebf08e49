import { DataError } from './errors';

/**
 * The safetensors format (Hugging Face): 8 bytes unsigned little-endian header length N, N bytes of UTF-8 JSON
 * `{ "<tensor>": { dtype, shape, data_offsets: [begin, end] }, ..., "__metadata__": { "<key>": "<string>" } }`,
 * then the raw little-endian tensor bytes, offsets relative to the end of the header.
 *
 * Written here rather than taken from npm: the only package of that name on the registry is a 0.0.1 placeholder
 * with no tests, and `@huggingface/hub` only parses remote headers (no writer, no validation of the data section)
 * while pulling in the whole hub client. The format is one JSON header and a byte buffer; what matters is the
 * validation, which the spec spells out and this file follows: the header starts with `{`, every tensor's
 * `data_offsets` span exactly `prod(shape) * sizeof(dtype)` bytes, the tensors tile the data section without holes
 * or overlaps, and `__metadata__` maps strings to strings.
 */

/** Element types of the safetensors spec that this reader understands. */
export const SAFETENSORS_DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'] as const;
/** One of {@link SAFETENSORS_DTYPES}. */
export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];

const BYTES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** The spec's guard against headers that would exhaust memory. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** One tensor of a safetensors file: where its bytes are in {@link SafetensorsFile.data}. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte offsets into the data section, end exclusive. */
  begin: number;
  end: number;
}

/** A parsed and validated safetensors file. */
export interface SafetensorsFile {
  /** Tensors in the order of their bytes in the data section. */
  entries: SafetensorsEntry[];
  /** `__metadata__` (string values only, per the spec); `{}` when absent. */
  metadata: Record<string, string>;
  /** The data section (a view into the bytes given). */
  data: Uint8Array;
}

/** A tensor to write. */
export interface SafetensorsTensor {
  name: string;
  dtype: 'F32' | 'I32';
  shape: number[];
  data: Float32Array | Int32Array;
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function assertLittleEndian(): void {
  if (!littleEndian)
    throw new DataError('safetensors IO needs a little-endian host', {
      expected: 'little-endian',
      found: 'big-endian',
    });
}

/** Whether bytes look like a safetensors file (plausible header length, then `{`). */
export function isSafetensors(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 10) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(0, true);
  return view.getUint32(4, true) === 0 && n >= 2 && n <= SAFETENSORS_MAX_HEADER_BYTES && bytes[8] === 0x7b;
}

/**
 * Encodes tensors and string metadata as a safetensors file. The header is padded with spaces to a multiple of 8
 * bytes (as the reference writer does), so every tensor starts 8-byte aligned in the file.
 *
 * @example
 * const bytes = encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }], { format: 'pt' });
 */
export function encodeSafetensors(
  tensors: readonly SafetensorsTensor[],
  metadata: Record<string, string> = {},
): Uint8Array {
  assertLittleEndian();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__' || seen.has(t.name))
      throw new DataError('Tensor names must be unique and not __metadata__', {
        field: t.name,
        expected: 'a unique name',
        found: 'a duplicate',
      });
    seen.add(t.name);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length)
      throw new DataError('Tensor data does not match its shape', {
        field: t.name,
        expected: `${count} values for [${t.shape}]`,
        found: `${t.data.length}`,
      });
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const n = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + n + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, n, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + n);
  let o = 8 + n;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), o);
    o += t.data.byteLength;
  }
  return out;
}

function lie(source: string, field: string, expected: string, found: string): DataError {
  return new DataError('Safetensors header does not describe the data', { file: source, field, expected, found });
}

/**
 * Parses and validates a safetensors file; `source` names it in errors. Every inconsistency of the header with the
 * bytes (a "lying" header: wrong dtype size, offsets past the end, holes, overlaps, a truncated data section) is a
 * one-line {@link DataError} naming the file and the first tensor that does not fit.
 */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsFile {
  assertLittleEndian();
  if (bytes.byteLength < 8)
    throw new DataError('Not a safetensors file: too short for its header length', {
      file: source,
      expected: '8+ bytes',
      found: `${bytes.byteLength} bytes`,
    });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hi = view.getUint32(4, true);
  const n = view.getUint32(0, true);
  if (hi !== 0 || n > SAFETENSORS_MAX_HEADER_BYTES)
    throw new DataError('Safetensors header length is implausible', {
      file: source,
      expected: `at most ${SAFETENSORS_MAX_HEADER_BYTES} bytes`,
      found: `${hi * 2 ** 32 + n} bytes`,
    });
  if (8 + n > bytes.byteLength)
    throw new DataError('Safetensors file is truncated in its header', {
      file: source,
      expected: `${8 + n}+ bytes`,
      found: `${bytes.byteLength} bytes`,
    });
  if (bytes[8] !== 0x7b)
    throw new DataError('Safetensors header is not a JSON object', {
      file: source,
      expected: "'{' at byte 8",
      found: JSON.stringify(String.fromCharCode(bytes[8] ?? 0)),
    });
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n))) as Record<
      string,
      unknown
    >;
  } catch (e) {
    throw new DataError(
      'Safetensors header is not valid UTF-8 JSON',
      { file: source, found: (e as Error).message },
      { cause: e },
    );
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw new DataError('Safetensors header is not a JSON object', { file: source, found: typeof header });
  const data = bytes.subarray(8 + n);
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
        throw lie(source, '__metadata__', 'an object of strings', JSON.stringify(raw)?.slice(0, 40) ?? 'undefined');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string')
          throw lie(source, `__metadata__.${k}`, 'a string (the spec allows only strings)', typeof v);
        metadata[k] = v;
      }
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (info === null || typeof info !== 'object')
      throw lie(source, name, '{ dtype, shape, data_offsets }', JSON.stringify(raw)?.slice(0, 40) ?? 'undefined');
    const dtype = info.dtype as SafetensorsDtype;
    if (!(SAFETENSORS_DTYPES as readonly string[]).includes(dtype as string))
      throw lie(source, `${name}.dtype`, `one of ${SAFETENSORS_DTYPES.join(', ')}`, JSON.stringify(info.dtype));
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0))
      throw lie(source, `${name}.shape`, 'a list of non-negative integers', JSON.stringify(shape));
    const offs = info.data_offsets;
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      !offs.every((d) => Number.isSafeInteger(d) && (d as number) >= 0) ||
      (offs[1] as number) < (offs[0] as number)
    ) {
      throw lie(source, `${name}.data_offsets`, '[begin, end] with 0 <= begin <= end', JSON.stringify(offs));
    }
    const [begin, end] = offs as [number, number];
    const need = (shape as number[]).reduce((a, b) => a * b, 1) * BYTES[dtype];
    if (end - begin !== need)
      throw lie(
        source,
        name,
        `${need} bytes for ${dtype} [${(shape as number[]).join(', ')}]`,
        `data_offsets [${begin}, ${end}] (${end - begin} bytes)`,
      );
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of entries) {
    if (e.begin !== at)
      throw lie(
        source,
        e.name,
        `data starting at byte ${at} (tensors must tile the data section)`,
        `data_offsets [${e.begin}, ${e.end}]`,
      );
    at = e.end;
  }
  if (at !== data.byteLength) {
    const last = entries[entries.length - 1];
    throw new DataError(
      at > data.byteLength
        ? 'Safetensors file is truncated: its data section is shorter than the header says'
        : 'Safetensors file has bytes after its last tensor',
      {
        file: source,
        ...(last !== undefined ? { field: last.name } : {}),
        expected: `${at} data bytes`,
        found: `${data.byteLength}`,
      },
    );
  }
  return { entries, metadata, data };
}

/** An IEEE half-precision value (its 16 bits) as a number: what F16 tensors of safetensors and torch hold. */
export function float16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : Number.NaN;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/**
 * The values of one tensor as float32 (F64 rounded, F16 / BF16 widened, integers converted), copied out of the file.
 *
 * @example
 * const file = parseSafetensors(bytes, 'model.safetensors');
 * const w = tensorAsFloat32(file, file.entries[0]);
 */
export function tensorAsFloat32(file: SafetensorsFile, entry: SafetensorsEntry): Float32Array {
  // A copy into a fresh buffer (a Node Buffer's slice would share the whole file's memory).
  const bytes = new Uint8Array(entry.end - entry.begin);
  bytes.set(file.data.subarray(entry.begin, entry.end));
  const buf = bytes.buffer;
  switch (entry.dtype) {
    case 'F32':
      return new Float32Array(buf);
    case 'F64':
      return Float32Array.from(new Float64Array(buf));
    case 'F16':
      return Float32Array.from(new Uint16Array(buf), float16ToNumber);
    case 'BF16': {
      const wide = new Uint32Array(bytes.byteLength / 2);
      const half = new Uint16Array(buf);
      for (let i = 0; i < half.length; i++) wide[i] = half[i]! << 16;
      return new Float32Array(wide.buffer);
    }
    case 'I64':
      return Float32Array.from(new BigInt64Array(buf), (v) => Number(v));
    case 'I32':
      return Float32Array.from(new Int32Array(buf));
    case 'I16':
      return Float32Array.from(new Int16Array(buf));
    case 'I8':
      return Float32Array.from(new Int8Array(buf));
    case 'U8':
    case 'BOOL':
      return Float32Array.from(bytes);
  }
}
