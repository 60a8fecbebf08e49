import {
  DataError,
  encodeSafetensors,
  isSafetensors,
  parseSafetensors,
  sha256Hex,
  tensorAsFloat32,
} from '@multichexnet/core';

/** One named float32 array with its shape. */
export interface BundleEntry {
  name: string;
  shape: number[];
  values: Float32Array;
}

const MAGIC = 'MCXTB001';

// sha256Hex is core's; re-exported for the trainer's own modules that import it from here.
export { sha256Hex };

/**
 * Packs named float32 arrays into one self-checking safetensors file (optimizer moments of a checkpoint), with
 * `__metadata__` { format: "multichexnet-tensor-bundle", dataSha256 } so a truncated or altered file is refused.
 * Files of the earlier format (magic `MCXTB001`, uint32 LE header length, JSON {entries, dataSha256}, data) still load.
 */
export async function encodeTensorBundle(entries: readonly BundleEntry[]): Promise<Uint8Array> {
  const tensors = entries.map((e) => ({ name: e.name, dtype: 'F32' as const, shape: e.shape, data: e.values }));
  const data = new Uint8Array(entries.reduce((n, e) => n + e.values.byteLength, 0));
  let o = 0;
  for (const e of entries) {
    data.set(new Uint8Array(e.values.buffer, e.values.byteOffset, e.values.byteLength), o);
    o += e.values.byteLength;
  }
  return encodeSafetensors(tensors, { format: 'multichexnet-tensor-bundle', dataSha256: await sha256Hex(data) });
}

async function decodeSafetensorsBundle(bytes: Uint8Array, source: string): Promise<BundleEntry[]> {
  const file = parseSafetensors(bytes, source);
  if (file.metadata.format !== 'multichexnet-tensor-bundle') {
    throw new DataError('Not a MultiCheXNet tensor bundle', {
      file: source,
      field: '__metadata__.format',
      expected: 'multichexnet-tensor-bundle',
      found: String(file.metadata.format),
    });
  }
  const sum = await sha256Hex(file.data);
  if (sum !== file.metadata.dataSha256) {
    throw new DataError('Tensor bundle checksum mismatch: the file was altered or damaged', {
      file: source,
      field: 'dataSha256',
      expected: String(file.metadata.dataSha256),
      found: sum,
    });
  }
  return file.entries.map((e) => ({ name: e.name, shape: e.shape, values: tensorAsFloat32(file, e) }));
}

/** Reads a bundle written by {@link encodeTensorBundle}; a truncated or altered file is refused (DataError). */
export async function decodeTensorBundle(bytes: Uint8Array, source = 'bundle'): Promise<BundleEntry[]> {
  if (isSafetensors(bytes)) return decodeSafetensorsBundle(bytes, source);
  if (bytes.byteLength < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new DataError('Not a MultiCheXNet tensor bundle', {
      file: source,
      expected: `magic "${MAGIC}"`,
      found: `${bytes.byteLength} bytes`,
    });
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
    throw new DataError('Tensor bundle is truncated or has trailing bytes', {
      file: source,
      expected: `${total * 4} data bytes`,
      found: `${dataBytes.byteLength}`,
    });
  }
  const sum = await sha256Hex(dataBytes);
  if (sum !== header.dataSha256) {
    throw new DataError('Tensor bundle checksum mismatch: the file was altered or damaged', {
      file: source,
      field: 'dataSha256',
      expected: header.dataSha256,
      found: sum,
    });
  }
  const data = new Float32Array(dataBytes.buffer);
  return header.entries.map((e) => ({
    name: e.name,
    shape: e.shape,
    values: data.slice(e.offset, e.offset + e.length),
  }));
}
