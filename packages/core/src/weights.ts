import { tf, TFJS_VERSION } from './tf';
import { DataError } from './errors';
import type { Block } from './blocks/block';
import { namedWeightsOf } from './blocks/layer-block';
import { deserializeBlock, serializeBlock, type BlockSpec } from './registry';
import { CORE_VERSION } from './version';
import { writeFileAtomic } from './file-io';
import { sha256Hex } from './sha256';
import { encodeSafetensors, isSafetensors, parseSafetensors, type SafetensorsTensor } from './safetensors';

/**
 * File format of one block's weights: safetensors (Hugging Face's format, readable by `safetensors.torch.load_file`
 * and every other safetensors reader), self-describing so a user who installed a single head can load exactly that
 * head. Tensors are named `<layer>/<weight>` (see `namedWeightsOf`); `__metadata__` holds, as JSON strings (the spec
 * allows string values only): `format` ("multichexnet-weights"), `block` ({className, config}), `dataSha256` (SHA-256
 * of the data section, checked on load so a truncated or altered file is refused) and `createdBy`.
 *
 * Files of the earlier `.mcxw` format still load (read only): 8 bytes magic "MCXWGT01", uint32 LE header length N,
 * N bytes JSON { format, block, weights: [{name, shape, dtype, offset, byteLength}], dataSha256, createdBy }, data.
 */
const MAGIC = 'MCXWGT01';

/** Extension of the weight files this package writes. */
export const WEIGHTS_FILE_EXTENSION = '.safetensors';
/** Extension of the earlier weight format, still read. */
export const LEGACY_WEIGHTS_FILE_EXTENSION = '.mcxw';

/** One weight entry of the header. */
export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number;
  byteLength: number;
}

/** The JSON header of a weights file. */
export interface WeightsHeader {
  format: 'multichexnet-weights';
  block: BlockSpec;
  weights: WeightEntry[];
  dataSha256: string;
  createdBy: { core: string; tfjs: string };
}

type WeightBlock = Block<unknown, unknown, unknown> & { layersModel?: tf.LayersModel };

function namedOf(block: WeightBlock): { name: string; variable: tf.LayerVariable }[] {
  if (block.layersModel !== undefined) return namedWeightsOf(block.layersModel);
  return block.weights.map((variable) => ({ name: variable.name, variable }));
}

/** Serialises a block (spec + all weights, BatchNorm statistics included) to safetensors bytes. */
export async function encodeBlockWeights(block: Block<unknown, unknown, unknown>): Promise<Uint8Array> {
  const tensors: SafetensorsTensor[] = namedOf(block as WeightBlock).map(({ name, variable }) => {
    const values = variable.read().dataSync();
    const int = variable.dtype === 'int32';
    return {
      name,
      dtype: int ? 'I32' : 'F32',
      shape: variable.shape.slice() as number[],
      data: int ? Int32Array.from(values) : Float32Array.from(values),
    };
  });
  // The checksum covers the data section, which is the tensors' bytes in this order.
  const data = new Uint8Array(tensors.reduce((n, t) => n + t.data.byteLength, 0));
  let o = 0;
  for (const t of tensors) {
    data.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), o);
    o += t.data.byteLength;
  }
  return encodeSafetensors(tensors, {
    format: 'multichexnet-weights',
    block: JSON.stringify(serializeBlock(block)),
    dataSha256: await sha256Hex(data),
    createdBy: JSON.stringify({ core: CORE_VERSION, tfjs: TFJS_VERSION }),
  });
}

function decodeSafetensorsWeights(bytes: Uint8Array, source: string): { header: WeightsHeader; data: Uint8Array } {
  const file = parseSafetensors(bytes, source);
  const m = file.metadata;
  if (m.format !== 'multichexnet-weights' || m.block === undefined) {
    throw new DataError(
      'Not a MultiCheXNet weights file: its safetensors metadata lacks the block spec (import a foreign checkpoint with @multichexnet/pretrained)',
      {
        file: source,
        field: '__metadata__.format',
        expected: 'multichexnet-weights',
        found: m.format === undefined ? 'no such key' : JSON.stringify(m.format),
      },
    );
  }
  let block: BlockSpec;
  let createdBy: WeightsHeader['createdBy'];
  try {
    block = JSON.parse(m.block) as BlockSpec;
    createdBy = JSON.parse(m.createdBy ?? '{}') as WeightsHeader['createdBy'];
  } catch (e) {
    throw new DataError(
      'Weights file metadata is not valid JSON',
      { file: source, field: '__metadata__.block' },
      { cause: e },
    );
  }
  const weights: WeightEntry[] = [];
  for (const e of file.entries) {
    if (e.dtype !== 'F32' && e.dtype !== 'I32')
      throw new DataError('Weights file holds a tensor of another type', {
        file: source,
        field: e.name,
        expected: 'F32 or I32',
        found: e.dtype,
      });
    weights.push({
      name: e.name,
      shape: e.shape,
      dtype: e.dtype === 'F32' ? 'float32' : 'int32',
      offset: e.begin,
      byteLength: e.end - e.begin,
    });
  }
  return {
    header: { format: 'multichexnet-weights', block, weights, dataSha256: m.dataSha256 ?? '', createdBy },
    data: file.data,
  };
}

/** Reads and verifies the header and data of a weights file. `source` names the file in errors. */
export async function decodeWeightsFile(
  bytes: Uint8Array,
  source = 'weights',
): Promise<{ header: WeightsHeader; data: Uint8Array }> {
  const legacy = bytes.byteLength >= 12 && new TextDecoder().decode(bytes.subarray(0, 8)) === MAGIC;
  if (!legacy && !isSafetensors(bytes)) {
    throw new DataError('Not a MultiCheXNet weights file', {
      file: source,
      expected: `safetensors (or the earlier magic "${MAGIC}")`,
      found: `${bytes.byteLength} bytes starting ${JSON.stringify(new TextDecoder().decode(bytes.subarray(0, Math.min(8, bytes.byteLength))))}`,
    });
  }
  const { header, data } = legacy ? decodeLegacyWeights(bytes, source) : decodeSafetensorsWeights(bytes, source);
  const sum = await sha256Hex(data);
  if (sum !== header.dataSha256) {
    throw new DataError('Weights file checksum mismatch: the file was altered or damaged', {
      file: source,
      field: 'dataSha256',
      expected: header.dataSha256,
      found: sum,
    });
  }
  return { header, data };
}

function decodeLegacyWeights(bytes: Uint8Array, source: string): { header: WeightsHeader; data: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(8, true);
  if (12 + n > bytes.byteLength) {
    throw new DataError('Weights file is truncated in its header', {
      file: source,
      expected: `${12 + n}+ bytes`,
      found: `${bytes.byteLength} bytes`,
    });
  }
  let header: WeightsHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + n))) as WeightsHeader;
  } catch (e) {
    throw new DataError('Weights file header is not valid JSON', { file: source }, { cause: e });
  }
  if (header.format !== 'multichexnet-weights' || !Array.isArray(header.weights)) {
    throw new DataError('Weights file header has the wrong format', {
      file: source,
      field: 'format',
      expected: 'multichexnet-weights',
      found: String(header.format),
    });
  }
  const data = bytes.subarray(12 + n);
  const expectedBytes = header.weights.reduce((s, w) => Math.max(s, w.offset + w.byteLength), 0);
  if (data.byteLength !== expectedBytes) {
    throw new DataError('Weights file is truncated or has trailing bytes', {
      file: source,
      expected: `${expectedBytes} data bytes`,
      found: `${data.byteLength}`,
    });
  }
  return { header, data };
}

/**
 * Loads weights into an existing block. Names and shapes must match exactly; every mismatch is reported by name.
 */
export async function loadBlockWeightsFromBytes(
  block: Block<unknown, unknown, unknown>,
  bytes: Uint8Array,
  source = 'weights',
): Promise<void> {
  const { header, data } = await decodeWeightsFile(bytes, source);
  if (header.block.className !== block.className) {
    throw new DataError('Weights belong to another block class', {
      file: source,
      field: 'block.className',
      expected: block.className,
      found: header.block.className,
    });
  }
  const byName = new Map(header.weights.map((w) => [w.name, w]));
  const named = namedOf(block as WeightBlock);
  const problems: string[] = [];
  for (const { name, variable } of named) {
    const entry = byName.get(name);
    if (entry === undefined) problems.push(`missing ${name}`);
    else if (entry.shape.join(',') !== variable.shape.join(','))
      problems.push(`${name} has shape [${entry.shape}] in the file, [${variable.shape}] in the block`);
  }
  if (named.length !== header.weights.length)
    problems.push(`file has ${header.weights.length} weights, block has ${named.length}`);
  if (problems.length > 0) {
    throw new DataError('Weights do not fit this block', {
      file: source,
      expected: 'the same weight names and shapes',
      found: problems.slice(0, 8).join('; '),
    });
  }
  for (const { name, variable } of named) {
    const entry = byName.get(name)!;
    // A copy into a fresh, aligned buffer (a Node Buffer's slice would be a view of the whole file).
    const slice = new Uint8Array(entry.byteLength);
    slice.set(data.subarray(entry.offset, entry.offset + entry.byteLength));
    const values = entry.dtype === 'int32' ? new Int32Array(slice.buffer) : new Float32Array(slice.buffer);
    const t = tf.tensor(values, entry.shape, entry.dtype);
    variable.write(t);
    t.dispose();
  }
}

/** Builds the block described by a weights file (its registered factory) and loads the weights into it. */
export async function loadBlockFromBytes<B extends Block<unknown, unknown, unknown>>(
  bytes: Uint8Array,
  source = 'weights',
): Promise<B> {
  const { header } = await decodeWeightsFile(bytes, source);
  const block = deserializeBlock<B>(header.block);
  try {
    await loadBlockWeightsFromBytes(block, bytes, source);
  } catch (e) {
    block.dispose();
    throw e;
  }
  return block;
}

/** Saves one block (spec + weights) to a weights file (`.safetensors`), atomically. Node only. */
export async function saveBlockWeights(block: Block<unknown, unknown, unknown>, path: string): Promise<void> {
  await writeFileAtomic(path, await encodeBlockWeights(block));
}

async function readBytes(path: string): Promise<Uint8Array> {
  const fs = await import('node:fs/promises');
  try {
    return new Uint8Array(await fs.readFile(path));
  } catch (e) {
    throw new DataError('Cannot read weights file', { file: path, found: (e as Error).message }, { cause: e });
  }
}

/** Loads a weights file (`.safetensors`, or the earlier `.mcxw`) into an existing block. Node only. */
export async function loadBlockWeights(block: Block<unknown, unknown, unknown>, path: string): Promise<void> {
  await loadBlockWeightsFromBytes(block, await readBytes(path), path);
}

/** Rebuilds a block from a weights file (its package must be imported so its class is registered). Node only. */
export async function loadBlock<B extends Block<unknown, unknown, unknown>>(path: string): Promise<B> {
  return loadBlockFromBytes<B>(await readBytes(path), path);
}
