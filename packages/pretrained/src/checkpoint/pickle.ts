import { DataError } from '@multichexnet/core';

/**
 * The subset of Python's pickle that `torch.save(model.state_dict())` writes (protocol 2, and the protocol 3-5
 * opcodes a newer `pickle_protocol` adds), interpreted as data: no Python object is ever constructed. Written here
 * because no maintained JavaScript unpickler resolves torch's persistent ids (the tensor storages of the zip archive)
 * and refuses everything else; `pickleparser` on npm builds arbitrary classes as plain objects instead.
 *
 * Only these globals are accepted: `collections.OrderedDict`, torch's tensor rebuild functions
 * (`torch._utils._rebuild_tensor_v2`, `_rebuild_parameter`, `torch._tensor._rebuild_from_type_v2`), the typed storage
 * classes (`torch.FloatStorage`, ...), `torch.Tensor` / `torch.nn.parameter.Parameter` as rebuild types and
 * `_codecs.encode` (how protocol 2 writes bytes). Any other global (a pickled `nn.Module`, a numpy scalar, a custom
 * class) throws {@link UnpicklingRefused} naming it.
 */

/** A tensor storage referenced by a persistent id: `archive/data/<key>` of the zip. */
export interface StorageRef {
  kind: 'storage';
  /** torch's storage class name, e.g. `FloatStorage`. */
  storageType: string;
  key: string;
  numel: number;
}

/** A tensor as `_rebuild_tensor_v2` describes it. */
export interface TensorRecord {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

/** What the interpreter produces: plain JSON-like values, Maps for dicts, and the two records above. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | Map<PickleValue, PickleValue>
  | StorageRef
  | TensorRecord
  | PickleGlobal;

/** A whitelisted global, as a callable marker. */
interface PickleGlobal {
  kind: 'global';
  name: string;
}

/** The pickle needs a global outside the whitelist: it needs Python (and that class's code) to load. */
export class UnpicklingRefused extends Error {
  override readonly name = 'UnpicklingRefused';
  constructor(readonly global: string) {
    super(`global ${global}`);
  }
}

const STORAGE_TYPES = [
  'FloatStorage',
  'DoubleStorage',
  'HalfStorage',
  'BFloat16Storage',
  'LongStorage',
  'IntStorage',
  'ShortStorage',
  'CharStorage',
  'ByteStorage',
  'BoolStorage',
];
const ALLOWED = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch._tensor._rebuild_from_type_v2',
  'torch.Tensor',
  'torch.nn.parameter.Parameter',
  '_codecs.encode',
  ...STORAGE_TYPES.map((s) => `torch.${s}`),
]);

const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

function isGlobal(v: unknown, name?: string): v is PickleGlobal {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as PickleGlobal).kind === 'global' &&
    (name === undefined || (v as PickleGlobal).name === name)
  );
}

function asInts(v: PickleValue, what: string, source: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' || typeof x === 'bigint'))
    throw new DataError('Checkpoint tensor record is malformed', {
      file: source,
      field: what,
      expected: 'a tuple of integers',
      found: String(v),
    });
  return v.map((x) => Number(x));
}

/**
 * Interprets a pickle stream (the `data.pkl` of a torch zip checkpoint) as data. `source` names the file in errors.
 *
 * @example
 * const root = unpickle(zipEntries['archive/data.pkl'], 'model.pth');   // Map of key -> TensorRecord
 */
export function unpickle(bytes: Uint8Array, source: string): PickleValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder();
  const stack: StackItem[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = 0;
  const need = (n: number): void => {
    if (pos + n > bytes.byteLength)
      throw new DataError('Checkpoint pickle is truncated', {
        file: source,
        expected: `${n} more byte(s) at offset ${pos}`,
        found: `${bytes.byteLength - pos}`,
      });
  };
  /** The `n`-byte number at the read position (`get` reads it from the DataView), then moves past it. */
  const fixed = (n: number, get: (at: number) => number): number => {
    need(n);
    const v = get(pos);
    pos += n;
    return v;
  };
  const u8 = (): number => fixed(1, (at) => view.getUint8(at));
  const u16 = (): number => fixed(2, (at) => view.getUint16(at, true));
  const u32 = (): number => fixed(4, (at) => view.getUint32(at, true));
  const take = (n: number): Uint8Array => {
    need(n);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0)
      throw new DataError('Checkpoint pickle is truncated', {
        file: source,
        expected: 'a newline-terminated name',
        found: 'end of data',
      });
    const s = text.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): PickleValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK)
      throw new DataError('Checkpoint pickle is malformed', {
        file: source,
        expected: 'a value on the stack',
        found: v === MARK ? 'a mark' : 'an empty stack',
      });
    return v;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK)
      throw new DataError('Checkpoint pickle is malformed', {
        file: source,
        expected: 'a value on the stack',
        found: 'none',
      });
    return v;
  };
  const popMark = (): PickleValue[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0)
      throw new DataError('Checkpoint pickle is malformed', { file: source, expected: 'a mark', found: 'none' });
    const items = stack.splice(at) as PickleValue[];
    items.shift();
    return items;
  };
  const global = (module: string, name: string): PickleGlobal => {
    const full = `${module}.${name}`;
    if (!ALLOWED.has(full)) throw new UnpicklingRefused(full);
    return { kind: 'global', name: full };
  };
  const appendTo = (list: PickleValue, items: PickleValue[]): void => {
    if (!Array.isArray(list))
      throw new DataError('Checkpoint pickle is malformed', {
        file: source,
        expected: 'a list to append to',
        found: typeof list,
      });
    list.push(...items);
  };
  const setItems = (target: PickleValue, items: PickleValue[]): void => {
    if (!(target instanceof Map))
      throw new DataError('Checkpoint pickle is malformed', {
        file: source,
        expected: 'a dict to set items on',
        found: typeof target,
      });
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i]!, items[i + 1]!);
  };
  const call = (fn: PickleValue, args: PickleValue): PickleValue => {
    const a = Array.isArray(args) ? args : [];
    if (!isGlobal(fn))
      throw new DataError('Checkpoint pickle calls something that is not a global', { file: source, found: typeof fn });
    switch (fn.name) {
      case 'collections.OrderedDict': {
        const m = new Map<PickleValue, PickleValue>();
        const pairs = a[0];
        if (Array.isArray(pairs)) for (const p of pairs) if (Array.isArray(p) && p.length === 2) m.set(p[0]!, p[1]!);
        return m;
      }
      case 'torch._utils._rebuild_tensor_v2': {
        const storage = a[0] as StorageRef;
        if (storage?.kind !== 'storage')
          throw new DataError('Checkpoint tensor has no storage', {
            file: source,
            expected: 'a persistent storage id',
            found: String(a[0]),
          });
        return {
          kind: 'tensor',
          storage,
          offset: Number(a[1]),
          shape: asInts(a[2]!, 'size', source),
          stride: asInts(a[3]!, 'stride', source),
        };
      }
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state':
        return a[0]!;
      case 'torch._tensor._rebuild_from_type_v2': {
        const [inner, , innerArgs] = a;
        if (!isGlobal(a[1], 'torch.Tensor') && !isGlobal(a[1], 'torch.nn.parameter.Parameter'))
          throw new UnpicklingRefused(`a tensor subclass (${String((a[1] as unknown as PickleGlobal)?.name)})`);
        return call(inner!, innerArgs!);
      }
      case '_codecs.encode': {
        const s = String(a[0]);
        return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
      }
      default:
        throw new UnpicklingRefused(`${fn.name} called as a function`);
    }
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        take(8);
        break;
      case 0x63: {
        // GLOBAL 'c'
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        stack.push(global(String(pop()), String(name)));
        break;
      }
      case 0x7d: // EMPTY_DICT '}'
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST ']'
      case 0x29: // EMPTY_TUPLE ')'
        stack.push([]);
        break;
      case 0x28: // MARK '('
        stack.push(MARK);
        break;
      case 0x71: // BINPUT 'q'
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT 'r'
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET 'h'
      case 0x6a: {
        // LONG_BINGET 'j'
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k))
          throw new DataError('Checkpoint pickle refers to a missing memo entry', { file: source, found: String(k) });
        stack.push(memo.get(k)!);
        break;
      }
      case 0x58: // BINUNICODE 'X'
        stack.push(text.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text.decode(take(u8())));
        break;
      case 0x8d: {
        // BINUNICODE8
        const lo = u32();
        const hi = u32();
        stack.push(text.decode(take(hi * 2 ** 32 + lo)));
        break;
      }
      case 0x55: // SHORT_BINSTRING 'U'
        stack.push(String.fromCharCode(...take(u8())));
        break;
      case 0x54: // BINSTRING 'T'
        stack.push(String.fromCharCode(...take(u32())));
        break;
      case 0x43: // SHORT_BINBYTES 'C'
        stack.push(take(u8()).slice());
        break;
      case 0x42: // BINBYTES 'B'
        stack.push(take(u32()).slice());
        break;
      case 0x4a: // BININT 'J'
        stack.push(fixed(4, (at) => view.getInt32(at, true)));
        break;
      case 0x4b: // BININT1 'K'
        stack.push(u8());
        break;
      case 0x4d: // BININT2 'M'
        stack.push(u16());
        break;
      case 0x8a: // LONG1
      case 0x8b: {
        // LONG4
        const n = op === 0x8a ? u8() : u32();
        const b = take(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
        if (n > 0 && (b[n - 1]! & 0x80) !== 0) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT 'G' (big-endian)
        stack.push(fixed(8, (at) => view.getFloat64(at, false)));
        break;
      case 0x74: // TUPLE 't'
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4e: // NONE 'N'
        stack.push(null);
        break;
      case 0x73: {
        // SETITEM 's'
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS 'u'
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: // APPEND 'a'
      case 0x65: {
        // APPENDS 'e'
        const items = op === 0x61 ? [pop()] : popMark();
        appendTo(top(), items);
        break;
      }
      case 0x52: {
        // REDUCE 'R'
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x81: {
        // NEWOBJ: only OrderedDict.__new__ is data
        const args = pop();
        const cls = pop();
        if (!isGlobal(cls, 'collections.OrderedDict'))
          throw new UnpicklingRefused(`${(cls as unknown as PickleGlobal)?.name ?? String(cls)} instantiated`);
        stack.push(call(cls, args));
        break;
      }
      case 0x62: // BUILD 'b': the state of an OrderedDict (its `_metadata`) or a tensor's; nothing to keep
        pop();
        break;
      case 0x51: {
        // BINPERSID 'Q'
        const pid = pop();
        if (!Array.isArray(pid) || pid[0] !== 'storage' || !isGlobal(pid[1])) {
          throw new DataError('Checkpoint pickle has a persistent id that is not a tensor storage', {
            file: source,
            expected: "('storage', type, key, location, numel)",
            found:
              JSON.stringify(pid, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))?.slice(0, 60) ??
              'undefined',
          });
        }
        stack.push({
          kind: 'storage',
          storageType: (pid[1] as PickleGlobal).name.replace(/^torch\./, ''),
          key: String(pid[2]),
          numel: Number(pid[4]),
        });
        break;
      }
      case 0x2e: // STOP '.'
        return pop();
      default:
        throw new DataError('Checkpoint pickle uses an opcode outside the state_dict subset', {
          file: source,
          expected: 'protocol 2-5 data opcodes',
          found: `0x${op.toString(16)} at offset ${pos - 1}`,
        });
    }
  }
}
