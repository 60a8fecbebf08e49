import { tf, TFJS_VERSION } from './tf';
import { DataError } from './errors';
import type { Block } from './blocks/block';
import { namedWeightsOf } from './blocks/layer-block';
import { deserializeBlock, serializeBlock, type BlockSpec } from './registry';
import { CORE_VERSION } from './version';

/**
 * File format of one block's weights (`*.mcxw`), self-describing so a user who installed a single head can load
 * exactly that head:
 *
 * ```
 * 8 bytes   magic "MCXWGT01"
 * 4 bytes   uint32 LE: header length N
 * N bytes   UTF-8 JSON header: { format, block: {className, config}, weights: [{name, shape, dtype, offset, byteLength}],
 *           dataSha256, createdBy }
 * rest      tensor data, little-endian, concatenated in header order
 * ```
 * The SHA-256 of the data is checked on load, so a truncated or altered file is refused.
 */
const MAGIC = 'MCXWGT01';

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

async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

type WeightBlock = Block<unknown, unknown, unknown> & { layersModel?: tf.LayersModel };

function namedOf(block: WeightBlock): { name: string; variable: tf.LayerVariable }[] {
  if (block.layersModel !== undefined) return namedWeightsOf(block.layersModel);
  return block.weights.map((variable) => ({ name: variable.name, variable }));
}

/** Serialises a block (spec + all weights, BatchNorm statistics included) to bytes. */
export async function encodeBlockWeights(block: Block<unknown, unknown, unknown>): Promise<Uint8Array> {
  const named = namedOf(block as WeightBlock);
  const chunks: Uint8Array[] = [];
  const entries: WeightEntry[] = [];
  let offset = 0;
  for (const { name, variable } of named) {
    const values = variable.read().dataSync();
    const bytes = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    entries.push({ name, shape: variable.shape.slice() as number[], dtype: variable.dtype as 'float32' | 'int32', offset, byteLength: bytes.byteLength });
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  const data = new Uint8Array(offset);
  let o = 0;
  for (const c of chunks) {
    data.set(c, o);
    o += c.byteLength;
  }
  const header: WeightsHeader = {
    format: 'multichexnet-weights',
    block: serializeBlock(block),
    weights: entries,
    dataSha256: await sha256Hex(data),
    createdBy: { core: CORE_VERSION, tfjs: TFJS_VERSION },
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + 4 + headerBytes.byteLength + data.byteLength);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, headerBytes.byteLength, true);
  out.set(headerBytes, 12);
  out.set(data, 12 + headerBytes.byteLength);
  return out;
}

/** Reads and verifies the header and data of a weights file. `source` names the file in errors. */
export async function decodeWeightsFile(bytes: Uint8Array, source = 'weights'): Promise<{ header: WeightsHeader; data: Uint8Array }> {
  if (bytes.byteLength < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new DataError('Not a MultiCheXNet weights file', { file: source, expected: `magic "${MAGIC}"`, found: `${bytes.byteLength} bytes starting ${JSON.stringify(new TextDecoder().decode(bytes.subarray(0, Math.min(8, bytes.byteLength))))}` });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(8, true);
  if (12 + n > bytes.byteLength) {
    throw new DataError('Weights file is truncated in its header', { file: source, expected: `${12 + n}+ bytes`, found: `${bytes.byteLength} bytes` });
  }
  let header: WeightsHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + n))) as WeightsHeader;
  } catch (e) {
    throw new DataError('Weights file header is not valid JSON', { file: source }, { cause: e });
  }
  if (header.format !== 'multichexnet-weights' || !Array.isArray(header.weights)) {
    throw new DataError('Weights file header has the wrong format', { file: source, field: 'format', expected: 'multichexnet-weights', found: String(header.format) });
  }
  const data = bytes.subarray(12 + n);
  const expectedBytes = header.weights.reduce((s, w) => Math.max(s, w.offset + w.byteLength), 0);
  if (data.byteLength !== expectedBytes) {
    throw new DataError('Weights file is truncated or has trailing bytes', { file: source, expected: `${expectedBytes} data bytes`, found: `${data.byteLength}` });
  }
  const sum = await sha256Hex(data);
  if (sum !== header.dataSha256) {
    throw new DataError('Weights file checksum mismatch: the file was altered or damaged', { file: source, field: 'dataSha256', expected: header.dataSha256, found: sum });
  }
  return { header, data };
}

/**
 * Loads weights into an existing block. Names and shapes must match exactly; every mismatch is reported by name.
 */
export async function loadBlockWeightsFromBytes(block: Block<unknown, unknown, unknown>, bytes: Uint8Array, source = 'weights'): Promise<void> {
  const { header, data } = await decodeWeightsFile(bytes, source);
  if (header.block.className !== block.className) {
    throw new DataError('Weights belong to another block class', { file: source, field: 'block.className', expected: block.className, found: header.block.className });
  }
  const byName = new Map(header.weights.map((w) => [w.name, w]));
  const named = namedOf(block as WeightBlock);
  const problems: string[] = [];
  for (const { name, variable } of named) {
    const entry = byName.get(name);
    if (entry === undefined) problems.push(`missing ${name}`);
    else if (entry.shape.join(',') !== variable.shape.join(',')) problems.push(`${name} has shape [${entry.shape}] in the file, [${variable.shape}] in the block`);
  }
  if (named.length !== header.weights.length) problems.push(`file has ${header.weights.length} weights, block has ${named.length}`);
  if (problems.length > 0) {
    throw new DataError('Weights do not fit this block', { file: source, expected: 'the same weight names and shapes', found: problems.slice(0, 8).join('; ') });
  }
  for (const { name, variable } of named) {
    const entry = byName.get(name)!;
    const slice = data.slice(entry.offset, entry.offset + entry.byteLength);
    const values = entry.dtype === 'int32' ? new Int32Array(slice.buffer) : new Float32Array(slice.buffer);
    const t = tf.tensor(values, entry.shape, entry.dtype);
    variable.write(t);
    t.dispose();
  }
}

/** Builds the block described by a weights file (its registered factory) and loads the weights into it. */
export async function loadBlockFromBytes<B extends Block<unknown, unknown, unknown>>(bytes: Uint8Array, source = 'weights'): Promise<B> {
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

/**
 * Writes bytes to `path` atomically: a temporary file in the same folder, fsync, then rename. A crash leaves
 * either the old file or the new one, never half of one. Node only.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const fs = await import('node:fs/promises');
  const nodePath = await import('node:path');
  await fs.mkdir(nodePath.dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const handle = await fs.open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/** Saves one block (spec + weights) to a `.mcxw` file, atomically. Node only. */
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

/** Loads a `.mcxw` file into an existing block. Node only. */
export async function loadBlockWeights(block: Block<unknown, unknown, unknown>, path: string): Promise<void> {
  await loadBlockWeightsFromBytes(block, await readBytes(path), path);
}

/** Rebuilds a block from a `.mcxw` file (its package must be imported so its class is registered). Node only. */
export async function loadBlock<B extends Block<unknown, unknown, unknown>>(path: string): Promise<B> {
  return loadBlockFromBytes<B>(await readBytes(path), path);
}
