import { DataError, isSafetensors, parseSafetensors, tensorAsFloat32 } from '@multichexnet/core';
import { needsPythonError, type CheckpointSource, type StateDict } from './state-dict';
import { isZip, readTorchZip } from './torch-zip';

/**
 * Reads a checkpoint's tensors, whatever the container: a `torch.save` zip (`.pth`, `.pt`, `.pth.tar`, a bare
 * state_dict or a dict holding one under `state_dict`) or a safetensors file. The legacy pre-1.6 `torch.save`
 * format (a bare pickle stream, or the older tar) needs Python and is refused with the command that converts it.
 *
 * @example
 * const { stateDict } = readCheckpoint(await readFile('densenet121.pth'), 'densenet121.pth');
 */
export function readCheckpoint(bytes: Uint8Array, file: string): { stateDict: StateDict; source: CheckpointSource } {
  if (isZip(bytes)) return { stateDict: readTorchZip(bytes, file), source: { file, format: 'torch-zip' } };
  if (isSafetensors(bytes)) {
    const st = parseSafetensors(bytes, file);
    const stateDict: StateDict = new Map();
    // In the order of their bytes (JSON object order is not something writers keep).
    for (const e of st.entries)
      stateDict.set(e.name, { shape: e.shape, dtype: e.dtype, values: () => tensorAsFloat32(st, e) });
    return { stateDict, source: { file, format: 'safetensors' } };
  }
  if (bytes[0] === 0x80) throw needsPythonError(file, 'the legacy (pre-1.6, not zip) torch.save format');
  if (bytes.byteLength > 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar')
    throw needsPythonError(file, 'the legacy tar torch.save format');
  throw new DataError('Not a checkpoint this importer reads', {
    file,
    expected: 'a PyTorch zip checkpoint (torch.save, PyTorch >= 1.6) or a safetensors file',
    found:
      bytes.byteLength === 0
        ? 'an empty file'
        : `${bytes.byteLength} bytes starting ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')}`,
  });
}
