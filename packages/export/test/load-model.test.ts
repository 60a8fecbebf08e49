import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHESTXRAY14_CLASSES, DataError, initBackend, tf } from '@multichexnet/core';
import { decodeModelProto, loadModel, runModel, verifyModelBytes, CHECKSUM_KEY } from '@multichexnet/runtime';
import { exportOnnx, type ExportOnnxOptions } from '../src/index';
import { encodeModelProto, scanModelProto } from '@multichexnet/runtime/format';
import { randomInput, randomizeStatistics } from './helpers/parity';
import { REALDATA_DIR } from './helpers/real-images';
import { clsGate } from './helpers/models';

const realdata = REALDATA_DIR;

let bytes: Uint8Array;
let model: tf.LayersModel;

/** What the fixture model is exported with (the determinism test exports it again with the same). */
const EXPORT_OPTIONS: ExportOnnxOptions = {
  outputs: [{ name: 'cls_probs', activation: 'sigmoid', description: 'ChestX-ray14 probabilities' }],
  metadata: {
    classNames: [...CHESTXRAY14_CLASSES],
    preprocessing: { size: 16, fit: 'stretch' },
    gate: { source: 'cls', classes: ['Pneumonia', 'Pneumothorax'], threshold: 0.4 },
    versions: { '@multichexnet/head-cls': '0.1.0' },
  },
};

beforeAll(async () => {
  await initBackend('cpu');
  const x = tf.input({ shape: [16, 16, 1] });
  const h = tf.layers
    .conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' })
    .apply(x) as tf.SymbolicTensor;
  const cls = tf.layers.dense({ units: 14 }).apply(tf.layers.globalAveragePooling2d({}).apply(h)) as tf.SymbolicTensor;
  model = tf.model({ inputs: x, outputs: cls });
  randomizeStatistics(model, 3);
  bytes = await exportOnnx(model, EXPORT_OPTIONS);
});

describe('loadModel: self-describing files', () => {
  it('reads back the metadata written at export', async () => {
    const m = await loadModel(bytes);
    expect(m.backend).toBe('node');
    expect(m.metadata.classNames).toEqual([...CHESTXRAY14_CLASSES]);
    expect(m.metadata.preprocessing).toMatchObject({
      size: 16,
      fit: 'stretch',
      interpolation: 'area',
      mean: 0.5,
      std: 0.25,
    });
    expect(m.metadata.inputSize).toEqual([16, 16]);
    expect(m.metadata.inputs).toEqual([{ name: 'image', shape: [null, 16, 16, 1], layout: 'NHWC', description: '' }]);
    expect(m.metadata.outputs.map((o) => [o.name, o.shape, o.layout])).toEqual([
      ['cls_probs', [null, 14], 'plain'],
      ['gate_prob', [null], 'plain'],
    ]);
    expect(m.metadata.gate).toEqual(clsGate(['Pneumonia', 'Pneumothorax'], 0.4));
    expect(m.metadata.versions).toMatchObject({
      '@multichexnet/export': '0.1.0',
      '@multichexnet/runtime': '0.1.0',
      '@tensorflow/tfjs': '4.22.0',
      '@multichexnet/head-cls': '0.1.0',
    });
    expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
    await m.dispose();
  });

  it('computes gate_prob in the graph as the max of the gate classes', async () => {
    const m = await loadModel(bytes);
    const input = randomInput([3, 16, 16, 1], 4);
    const out = await runModel(m, { image: { data: input.dataSync() as Float32Array, dims: [3, 16, 16, 1] } });
    const probs = out.cls_probs!.data;
    const p = CHESTXRAY14_CLASSES.indexOf('Pneumonia');
    const q = CHESTXRAY14_CLASSES.indexOf('Pneumothorax');
    expect(out.gate_prob!.dims).toEqual([3]);
    for (let b = 0; b < 3; b++) expect(out.gate_prob!.data[b]).toBe(Math.max(probs[b * 14 + p]!, probs[b * 14 + q]!));
    input.dispose();
    await m.dispose();
  });

  it('exports deterministically: same model, same bytes', async () => {
    const again = await exportOnnx(model, EXPORT_OPTIONS);
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
  });

  it('loads from a file path and runs on onnxruntime-web (wasm, 1 thread) with the same result as node', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { writeOnnxFile } = await import('../src/index');
    const dir = await mkdtemp(join(tmpdir(), 'mcx-load-'));
    try {
      const file = join(dir, 'nested', 'model.onnx');
      await writeOnnxFile(file, bytes);
      const native = await loadModel(file);
      const web = await loadModel(file, { backend: 'web', threads: 1 });
      expect(web.backend).toBe('web');
      const input = randomInput([1, 16, 16, 1], 8);
      const feeds = { image: { data: input.dataSync() as Float32Array, dims: [1, 16, 16, 1] } };
      const a = await runModel(native, feeds);
      const b = await runModel(web, feeds);
      for (let i = 0; i < 14; i++) expect(Math.abs(a.cls_probs!.data[i]! - b.cls_probs!.data[i]!)).toBeLessThan(1e-5);
      input.dispose();
      await native.dispose();
      await web.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('loadModel: refuses corrupt, tampered and foreign files', () => {
  it('refuses a file whose weights were altered', async () => {
    const tampered = bytes.slice();
    // Flip one byte in the middle of the serialized graph (its bulk is the raw float data of the weights), wherever
    // the metadata after it ends.
    const [start, end] = scanModelProto(bytes).graphRange!;
    tampered[Math.floor((start + end) / 2)] ^= 0x01;
    await expect(loadModel(tampered)).rejects.toThrow(/checksum mismatch: the file was altered or truncated/);
  });

  it('refuses a truncated file', async () => {
    const err = await loadModel(bytes.subarray(0, bytes.length - 100)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(String(err)).toMatch(/Corrupt or truncated ONNX file|checksum mismatch/);
  });

  it('refuses edited metadata (class names) through the checksum', async () => {
    const proto = decodeModelProto(bytes);
    const entry = proto.metadataProps.find((p) => p.key === 'multichexnet.classNames')!;
    entry.value = entry.value.replace('Pneumonia', 'Pneumonic');
    await expect(verifyModelBytes(encodeModelProto(proto), 'edited.onnx')).rejects.toThrow(
      /checksum mismatch.*file edited\.onnx/,
    );
  });

  it('refuses a file without a checksum', async () => {
    const proto = decodeModelProto(bytes);
    proto.metadataProps = proto.metadataProps.filter((p) => p.key !== CHECKSUM_KEY);
    await expect(verifyModelBytes(encodeModelProto(proto))).rejects.toThrow(/no checksum/);
  });

  it('refuses a valid ONNX file that is not a MultiCheXNet model', async () => {
    const proto = decodeModelProto(bytes);
    proto.metadataProps = [{ key: 'author', value: 'someone else' }];
    const foreign = encodeModelProto(proto);
    // onnxruntime itself would run it: the refusal is ours.
    await expect(loadModel(foreign)).rejects.toThrow(
      /Not a MultiCheXNet model.*expected multichexnet-onnx\/1, found no such metadata entry/,
    );
  });

  it.runIf(true)('refuses an image passed as a model', async () => {
    let png: Uint8Array;
    try {
      png = new Uint8Array(readFileSync(join(realdata, '00000001_000.png')));
    } catch {
      png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Array(32).fill(0)]);
    }
    await expect(loadModel(png)).rejects.toThrow(/Not an ONNX model file.*first bytes 89 50 4e 47/);
    await expect(loadModel(new Uint8Array(3))).rejects.toThrow(/Not an ONNX model file/);
  });

  it('refuses a missing file with its path', async () => {
    await expect(loadModel('/nonexistent/model.onnx')).rejects.toThrow(
      /Cannot read model file \(file \/nonexistent\/model\.onnx\)/,
    );
  });
});

describe('runModel: checks its feeds', () => {
  it('names the input, the expected and the found shape', async () => {
    const m = await loadModel(bytes);
    await expect(runModel(m, { image: { data: new Float32Array(16 * 16), dims: [1, 16, 16] } })).rejects.toThrow(
      /wrong shape or type \(file <bytes>, field image\): expected float32 \[\?, 16, 16, 1\] \(NHWC\), found Float32Array of 256 values, dims \[1, 16, 16\]/,
    );
    await expect(runModel(m, { image: { data: new Float32Array(10), dims: [1, 16, 16, 1] } })).rejects.toThrow(
      /wrong shape/,
    );
    await expect(runModel(m, {})).rejects.toThrow(/Missing model input/);
    await expect(
      runModel(m, {
        image: { data: new Float32Array(256), dims: [1, 16, 16, 1] },
        extra: { data: new Float32Array(1), dims: [1] },
      }),
    ).rejects.toThrow(/Unknown model input/);
    await expect(
      runModel(m, { image: { data: new Float32Array(256), dims: [1, 16, 16, 1] } }, { outputs: ['nope'] }),
    ).rejects.toThrow(/Unknown model output/);
    await m.dispose();
  });

  it('returns NaN where the input is NaN, like tfjs', async () => {
    const m = await loadModel(bytes);
    const data = new Float32Array(256).fill(0.5);
    data[0] = NaN;
    const out = await runModel(m, { image: { data, dims: [1, 16, 16, 1] } });
    const ref = tf.tidy(() => tf.sigmoid(model.predict(tf.tensor4d(data, [1, 16, 16, 1])) as tf.Tensor).dataSync());
    expect(Array.from(out.cls_probs!.data).map(Number.isNaN)).toEqual(Array.from(ref).map(Number.isNaN));
    await m.dispose();
  });
});
