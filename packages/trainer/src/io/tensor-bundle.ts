import { DataError } from '@multichexnet/core';

/** One named float32 array with its shape. */
export interface BundleEntry {
  name: string;
  shape: number[];
  values: Float32Array;
}

const MAGIC = 'MCXTB001';

/** SHA-256 of bytes, lowercase hex (WebCrypto: Node 20 and browsers). */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Packs named float32 arrays into one self-checking file (optimizer moments of a checkpoint):
 * magic `MCXTB001`, uint32 LE header length, JSON header {entries: [{name, shape, offset, length}], dataSha256},
 * then the little-endian data. Written here because core's `.mcxw` format is tied to a block's weights.
 */
export async function encodeTensorBundle(entries: readonly BundleEntry[]): Promise<Uint8Array> {
  let offset = 0;
  const header = entries.map((e) => {
    const h = { name: e.name, shape: e.shape, offset, length: e.values.length };
    offset += e.values.length;
    return h;
  });
  const data = new Float32Array(offset);
  entries.forEach((e, i) => data.set(e.values, header[i]!.offset));
  const dataBytes = new Uint8Array(data.buffer);
  const headerBytes = new TextEncoder().encode(JSON.stringify({ entries: header, dataSha256: await sha256Hex(dataBytes) }));
  const out = new Uint8Array(12 + headerBytes.byteLength + dataBytes.byteLength);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, headerBytes.byteLength, true);
  out.set(headerBytes, 12);
  out.set(dataBytes, 12 + headerBytes.byteLength);
  return out;
}

/** Reads a bundle written by {@link encodeTensorBundle}; a truncated or altered file is refused (DataError). */
export async function decodeTensorBundle(bytes: Uint8Array, source = 'bundle'): Promise<BundleEntry[]> {
  if (bytes.byteLength < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new DataError('Not a MultiCheXNet tensor bundle', { file: source, expected: `magic "${MAGIC}"`, found: `${bytes.byteLength} bytes` });
  }
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  let header: { entries: { name: string; shape: number[]; offset: number; length: number }[]; dataSha256: string };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + n))) as typeof header;
  } catch (e) {
    throw new DataError('Tensor bundle header is not valid JSON', { file: source }, { cause: e });
  }
  const dataBytes = bytes.slice(12 + n);
  const total = header.entries.reduce((s, e) => s + e.length, 0);
  if (dataBytes.byteLength !== total * 4) {
    throw new DataError('Tensor bundle is truncated or has trailing bytes', { file: source, expected: `${total * 4} data bytes`, found: `${dataBytes.byteLength}` });
  }
  const sum = await sha256Hex(dataBytes);
  if (sum !== header.dataSha256) {
    throw new DataError('Tensor bundle checksum mismatch: the file was altered or damaged', { file: source, field: 'dataSha256', expected: header.dataSha256, found: sum });
  }
  const data = new Float32Array(dataBytes.buffer);
  return header.entries.map((e) => ({ name: e.name, shape: e.shape, values: data.slice(e.offset, e.offset + e.length) }));
}
