import { sha256Hex } from '@multichexnet/core/base';
import type { StringStringEntry } from '../onnx/onnx-proto';
import { CHECKSUM_KEY } from './metadata';

/**
 * The model checksum: SHA-256 over the serialized graph (nodes, weights, inputs, outputs) followed by every
 * metadata entry except the checksum itself, each as `key NUL value NUL`, sorted by key. Covering the metadata
 * too means a file whose class names or preprocessing were edited is refused like one whose weights were.
 */
export async function modelChecksum(graphBytes: Uint8Array, props: StringStringEntry[]): Promise<string> {
  const enc = new TextEncoder();
  const parts = props
    .filter((p) => p.key !== CHECKSUM_KEY)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .flatMap((p) => [enc.encode(p.key), new Uint8Array([0]), enc.encode(p.value), new Uint8Array([0])]);
  const total = graphBytes.byteLength + parts.reduce((a, p) => a + p.byteLength, 0);
  const all = new Uint8Array(total);
  all.set(graphBytes, 0);
  let o = graphBytes.byteLength;
  for (const p of parts) {
    all.set(p, o);
    o += p.byteLength;
  }
  return sha256Hex(all);
}
