import { DataError, float16ToNumber } from '@multichexnet/core';
import { unzipSync } from 'fflate';
import { UnpicklingRefused, unpickle, type PickleValue, type TensorRecord } from './pickle';
import { needsPythonError, type CheckpointTensor, type StateDict } from './state-dict';

const ITEM: Record<string, { bytes: number; read: (v: DataView, o: number) => number }> = {
  FloatStorage: { bytes: 4, read: (v, o) => v.getFloat32(o, true) },
  DoubleStorage: { bytes: 8, read: (v, o) => v.getFloat64(o, true) },
  HalfStorage: { bytes: 2, read: (v, o) => float16ToNumber(v.getUint16(o, true)) },
  BFloat16Storage: {
    bytes: 2,
    read: (v, o) => new Float32Array(new Uint32Array([v.getUint16(o, true) << 16]).buffer)[0]!,
  },
  LongStorage: { bytes: 8, read: (v, o) => Number(v.getBigInt64(o, true)) },
  IntStorage: { bytes: 4, read: (v, o) => v.getInt32(o, true) },
  ShortStorage: { bytes: 2, read: (v, o) => v.getInt16(o, true) },
  CharStorage: { bytes: 1, read: (v, o) => v.getInt8(o) },
  ByteStorage: { bytes: 1, read: (v, o) => v.getUint8(o) },
  BoolStorage: { bytes: 1, read: (v, o) => v.getUint8(o) },
};

/** Whether bytes start like a zip archive (`torch.save` since PyTorch 1.6). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/**
 * The dict of tensors inside a checkpoint object: the object itself, or its `state_dict` / `model_state_dict` /
 * `model`.
 */
function findStateDict(root: PickleValue, file: string): Map<PickleValue, PickleValue> {
  const isTensorDict = (v: PickleValue): v is Map<PickleValue, PickleValue> =>
    v instanceof Map && [...v.values()].some((x) => (x as TensorRecord)?.kind === 'tensor');
  if (isTensorDict(root)) return root;
  if (root instanceof Map) {
    for (const key of ['state_dict', 'model_state_dict', 'model']) {
      const inner = root.get(key);
      if (inner !== undefined && isTensorDict(inner)) return inner;
    }
  }
  throw new DataError('Checkpoint holds no state_dict', {
    file,
    expected: 'a dict of tensors, or a dict with one under state_dict / model_state_dict / model',
    found:
      root instanceof Map ? `a dict with keys ${[...root.keys()].slice(0, 6).map(String).join(', ')}` : typeof root,
  });
}

/**
 * Reads a `torch.save` zip checkpoint (`.pth`, `.pt`, `.pth.tar`) into a state dict without Python: the zip's
 * `<archive>/data.pkl` is interpreted as data (see `unpickle`) and each tensor is read from `<archive>/data/<key>`
 * on demand. A pickle that needs anything but tensors, dicts, lists and numbers throws the one-line
 * "needs Python" error with the command that converts the file.
 *
 * @example
 * const sd = readTorchZip(await readFile('chexnet.pth.tar'), 'chexnet.pth.tar');
 * sd.get('module.densenet121.features.conv0.weight')!.shape;   // [64, 3, 7, 7]
 */
export function readTorchZip(bytes: Uint8Array, file: string): StateDict {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw new DataError(
      'PyTorch checkpoint is not a readable zip archive (truncated or damaged)',
      { file, expected: 'a complete torch.save zip', found: (e as Error).message },
      { cause: e },
    );
  }
  const pkl = Object.keys(entries).find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkl === undefined)
    throw new DataError('Zip file is not a PyTorch checkpoint', {
      file,
      expected: '<archive>/data.pkl',
      found: Object.keys(entries).slice(0, 4).join(', ') || 'no entries',
    });
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const order = entries[`${prefix}byteorder`];
  if (order !== undefined && new TextDecoder().decode(order).trim() !== 'little') {
    throw new DataError('PyTorch checkpoint was written big-endian', {
      file,
      field: `${prefix}byteorder`,
      expected: 'little',
      found: new TextDecoder().decode(order),
    });
  }
  let root: PickleValue;
  try {
    root = unpickle(entries[pkl]!, file);
  } catch (e) {
    if (e instanceof UnpicklingRefused) throw needsPythonError(file, `a pickled object (${e.message})`);
    throw e;
  }
  const dict = findStateDict(root, file);
  const out: StateDict = new Map();
  for (const [key, value] of dict) {
    const t = value as TensorRecord;
    if (t?.kind !== 'tensor') continue;
    out.set(String(key), lazyTensor(t, entries, prefix, String(key), file));
  }
  return out;
}

function lazyTensor(
  t: TensorRecord,
  entries: Record<string, Uint8Array>,
  prefix: string,
  key: string,
  file: string,
): CheckpointTensor {
  return {
    shape: t.shape,
    dtype: t.storage.storageType,
    values(): Float32Array {
      const item = ITEM[t.storage.storageType];
      if (item === undefined)
        throw new DataError('Checkpoint tensor has an unsupported storage type', {
          file,
          field: key,
          expected: Object.keys(ITEM).join(', '),
          found: t.storage.storageType,
        });
      const raw = entries[`${prefix}data/${t.storage.key}`];
      if (raw === undefined)
        throw new DataError('Checkpoint lacks the storage of a tensor', {
          file,
          field: key,
          expected: `${prefix}data/${t.storage.key}`,
          found: 'no such zip entry',
        });
      if (raw.byteLength < t.storage.numel * item.bytes) {
        throw new DataError('Checkpoint storage is shorter than its tensor needs (truncated file)', {
          file,
          field: key,
          expected: `${t.storage.numel * item.bytes} bytes`,
          found: `${raw.byteLength}`,
        });
      }
      const n = t.shape.reduce((a, b) => a * b, 1);
      const rank = t.shape.length;
      let expected = 1;
      let contiguous = true;
      for (let d = rank - 1; d >= 0; d--) {
        if (t.shape[d]! > 1 && t.stride[d] !== expected) contiguous = false;
        expected *= t.shape[d]!;
      }
      if (contiguous && t.offset + n > t.storage.numel) {
        throw new DataError('Checkpoint tensor reaches past its storage', {
          file,
          field: key,
          expected: `${t.storage.numel} elements`,
          found: `${t.offset + n}`,
        });
      }
      if (contiguous && t.storage.storageType === 'FloatStorage') {
        // The common case: a row-major float32 tensor, copied in one go.
        return new Float32Array(raw.slice(t.offset * 4, (t.offset + n) * 4).buffer);
      }
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const out = new Float32Array(n);
      const index = new Array<number>(rank).fill(0);
      for (let i = 0; i < n; i++) {
        let off = t.offset;
        for (let d = 0; d < rank; d++) off += index[d]! * t.stride[d]!;
        if (off >= t.storage.numel)
          throw new DataError('Checkpoint tensor reaches past its storage', {
            file,
            field: key,
            expected: `offsets < ${t.storage.numel}`,
            found: String(off),
          });
        out[i] = item.read(view, off * item.bytes);
        for (let d = rank - 1; d >= 0; d--) {
          if (++index[d]! < t.shape[d]!) break;
          index[d] = 0;
        }
      }
      return out;
    },
  };
}
