import { describe, expect, it } from 'vitest';
import { DataError, encodeSafetensors, isSafetensors, parseSafetensors, tensorAsFloat32 } from '../src/index';

const tensors = [
  { name: 'a.weight', dtype: 'F32' as const, shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
  { name: 'b.count', dtype: 'I32' as const, shape: [], data: Int32Array.from([7]) },
];

/** A file with a hand-written header (to build lying ones). */
function withHeader(header: unknown, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setUint32(0, json.byteLength, true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

describe('safetensors', () => {
  it('round-trips tensors and string metadata, 8-byte aligned', () => {
    const bytes = encodeSafetensors(tensors, { format: 'pt', note: '{"json":"as a string"}' });
    expect(isSafetensors(bytes)).toBe(true);
    const n = new DataView(bytes.buffer).getUint32(0, true);
    expect(n % 8).toBe(0);
    const file = parseSafetensors(bytes, 'x.safetensors');
    expect(file.metadata).toEqual({ format: 'pt', note: '{"json":"as a string"}' });
    expect(file.entries.map((e) => [e.name, e.dtype, e.shape])).toEqual([
      ['a.weight', 'F32', [2, 3]],
      ['b.count', 'I32', []],
    ]);
    expect(Array.from(tensorAsFloat32(file, file.entries[0]!))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(tensorAsFloat32(file, file.entries[1]!))).toEqual([7]);
  });

  it('widens F16, BF16, F64 and I64 to float32', () => {
    const data = new Uint8Array(2 + 2 + 8 + 8);
    const v = new DataView(data.buffer);
    v.setUint16(0, 0x3c00, true); // f16 1.0
    v.setUint16(2, 0xc000, true); // bf16 -2.0
    v.setFloat64(4, 0.5, true);
    v.setBigInt64(12, 123n, true);
    const file = parseSafetensors(
      withHeader(
        {
          h: { dtype: 'F16', shape: [1], data_offsets: [0, 2] },
          b: { dtype: 'BF16', shape: [1], data_offsets: [2, 4] },
          d: { dtype: 'F64', shape: [1], data_offsets: [4, 12] },
          l: { dtype: 'I64', shape: [1], data_offsets: [12, 20] },
        },
        data,
      ),
    );
    expect(file.entries.map((e) => tensorAsFloat32(file, e)[0])).toEqual([1, -2, 0.5, 123]);
  });

  it('refuses lying headers with one line naming the file and the tensor', () => {
    const data = new Uint8Array(24);
    const cases: [unknown, Uint8Array, RegExp][] = [
      [
        { w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 16] } },
        data.subarray(0, 16),
        /Safetensors header does not describe the data \(file bad\.safetensors, field w\): expected 24 bytes for F32 \[2, 3\], found data_offsets \[0, 16\]/,
      ],
      [
        { w: { dtype: 'F32', shape: [6], data_offsets: [0, 24] } },
        data.subarray(0, 20),
        /truncated.*file bad\.safetensors, field w.*expected 24 data bytes, found 20/,
      ],
      [
        { w: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } },
        data.subarray(0, 16),
        /field w\): expected data starting at byte 0/,
      ],
      [{ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, data.subarray(0, 8), /bytes after its last tensor/],
      [{ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 4] } }, data.subarray(0, 4), /field w\.dtype/],
      [{ __metadata__: { n: 3 } }, new Uint8Array(0), /field __metadata__\.n\): expected a string/],
    ];
    for (const [header, d, re] of cases) {
      let err: unknown;
      try {
        parseSafetensors(withHeader(header, d), 'bad.safetensors');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DataError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('\n');
    }
    const big = new Uint8Array(16);
    new DataView(big.buffer).setUint32(4, 1, true);
    expect(() => parseSafetensors(big, 'huge.safetensors')).toThrow(
      /header length is implausible \(file huge\.safetensors\)/,
    );
    const good = encodeSafetensors(tensors);
    expect(() => parseSafetensors(good.subarray(0, 20), 'cut.safetensors')).toThrow(
      /truncated in its header \(file cut\.safetensors\)/,
    );
  });
});
