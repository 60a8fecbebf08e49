import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHESTXRAY14_CLASSES, DataError, initBackend, saveBlockWeights, tf } from '@multichexnet/core';
import { runReadmeExample } from '@multichexnet/core/testing';
import { preprocessImage, type DecodedImage } from '@multichexnet/data';
import { LAYOUTS, fromPretrained, importCheckpoint, type ImportedModel, type ImportOptions } from '../src/index';
import {
  REALDATA,
  SIZE,
  decodeFilms,
  fittedGrey,
  readWithNumpy,
  torchAvailable,
  torchReference,
  type Reference,
} from './reference/torch-reference';

// Parity with PyTorch on real films: DenseNet-121 in the three layouts, seeded random weights (spread-out
// probabilities), written by torch.save and as safetensors; our import + forward on the tfjs wasm backend must give
// every probability within 1e-4. A missing torch fails the test (see .ci/system-deps), it never skips.
const TOLERANCE = 1e-4;
let films: DecodedImage[];
let dir: string;
let ref: Reference;
const out = mkdtempSync(join(tmpdir(), 'pretrained-parity-'));

beforeAll(async () => {
  const torch = torchAvailable();
  if (!torch.ok)
    throw new Error(
      `/usr/bin/python3 cannot import torch + torchvision (apt-get install python3-torch python3-torchvision): ${torch.why}`,
    );
  await initBackend('wasm');
  films = decodeFilms();
  const imagenet = films.map((f) => fittedGrey(f, LAYOUTS.chexnet.preprocess(1)));
  const xrv = films.map((f) => fittedGrey(f, LAYOUTS.torchxrayvision.preprocess(1)));
  ({ dir, ref } = torchReference(imagenet, xrv));
}, 300_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

async function load(file: string, options: ImportOptions): Promise<ImportedModel> {
  return importCheckpoint(readFileSync(join(dir, file)), { ...options, file });
}

/** The model of `file`, after checking that `other` (the same weights in another format) imports the same weights. */
async function loadChecked(file: string, other: string, options: ImportOptions): Promise<ImportedModel> {
  const m = await load(file, options);
  const again = await load(other, options);
  sameWeights(m, again);
  again.dispose();
  return m;
}

/** Our probabilities [film][class] through the imported model's own preprocessing, on tfjs. */
function forward(m: ImportedModel): number[][] {
  const C = m.encoder.config.inputChannels;
  const batch = new Float32Array(films.length * SIZE * SIZE * C);
  films.forEach((f, i) => batch.set(preprocessImage(f, m.preprocess).input, i * SIZE * SIZE * C));
  const probs = tf.tidy(() => {
    const x = tf.tensor4d(batch, [films.length, SIZE, SIZE, C]);
    return tf.sigmoid(m.cls.apply(m.encoder.apply(x))).arraySync() as number[][];
  });
  return probs;
}

function worst(a: number[][], b: number[][]): number {
  let w = 0;
  a.forEach((row, i) => row.forEach((v, j) => (w = Math.max(w, Math.abs(v - b[i]![j]!)))));
  return w;
}

function sameWeights(a: ImportedModel, b: ImportedModel): void {
  for (const [x, y] of [
    [a.encoder, b.encoder],
    [a.cls, b.cls],
  ] as const) {
    const wa = x.namedWeights();
    const wb = y.namedWeights();
    expect(wa.map((w) => w.name)).toEqual(wb.map((w) => w.name));
    // Byte comparison: a deep equality over 7 million floats is far slower than the forward pass.
    const differing = wa.filter(
      (w, i) =>
        !Buffer.from((w.variable.read().dataSync() as Float32Array).buffer).equals(
          Buffer.from((wb[i]!.variable.read().dataSync() as Float32Array).buffer),
        ),
    );
    expect(differing.map((w) => w.name)).toEqual([]);
  }
}

describe('DenseNet-121 checkpoints imported match PyTorch on real films (PNG, JPEG, both DICOMs)', () => {
  it('the reference is not saturated: probabilities spread over (0, 1)', () => {
    for (const name of ['torchvision', 'chexnet', 'xrv'] as const) {
      const [min, max, std] = ref[name].spread as [number, number, number];
      expect(min, name).toBeGreaterThan(0.01);
      expect(max, name).toBeLessThan(0.99);
      expect(std, name).toBeGreaterThan(0.05);
    }
  });

  it('torchvision layout, stem kept with inputChannels 3 (ImageNet RGB statistics): within 1e-4; .pth and .safetensors give the same weights', async () => {
    const m = await loadChecked('torchvision.pth', 'torchvision.safetensors', {
      layout: 'torchvision',
      inputChannels: 3,
    });
    expect(m.preprocess).toMatchObject({
      size: 224,
      fit: 'crop',
      crop: 0.875,
      channels: 3,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    });
    expect(m.provenance).toMatchObject({
      layout: 'torchvision',
      format: 'torch-zip',
      stemChannels: 3,
      inputChannels: 3,
      folded: false,
      classifier: 'imported',
    });
    expect(worst(forward(m), ref.torchvision.probs)).toBeLessThan(TOLERANCE);
    m.dispose();
  }, 120_000);

  it('CheXNet layout (DataParallel, Sequential classifier, dotted names, inside a training checkpoint), RGB stem folded to grey: within 1e-4 of PyTorch on the same fold', async () => {
    const m = await loadChecked('chexnet.pth.tar', 'chexnet.safetensors', { layout: 'chexnet' });
    expect(m.cls.config.classes).toEqual([...CHESTXRAY14_CLASSES]);
    expect(m.provenance).toMatchObject({ stemChannels: 3, inputChannels: 1, folded: true });
    const ours = forward(m);
    expect(worst(ours, ref.chexnet.probsFolded)).toBeLessThan(TOLERANCE);
    // What folding costs against the unfolded RGB network (the 3-pixel border only): reported, for the README.
    console.log(
      `chexnet: folded stem vs RGB stem, largest probability difference on the 4 films ${worst(ours, ref.chexnet.probs).toFixed(4)}`,
    );
    m.dispose();
  }, 120_000);

  it('torchxrayvision layout: classes mapped by name (14 ours, then its 4 extras), op_threshs as thresholds, within 1e-4; .pth and .safetensors the same', async () => {
    const m = await loadChecked('xrv.safetensors', 'xrv.pth', { layout: 'torchxrayvision' });
    // fromPretrained: the same file from a server on 127.0.0.1 in the hub's layout, into a cache folder.
    const server = createServer((req, res) => {
      if (req.url !== '/org/xrv-densenet121/resolve/main/xrv.safetensors') return void res.writeHead(404).end();
      const data = readFileSync(join(dir, 'xrv.safetensors'));
      res.writeHead(200, { 'content-length': String(data.byteLength) }).end(data);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const hub = await fromPretrained('org/xrv-densenet121', {
        layout: 'torchxrayvision',
        file: 'xrv.safetensors',
        endpoint,
        cacheDir: join(out, 'cache'),
      });
      sameWeights(m, hub);
      expect(hub.provenance.file).toBe(`${endpoint}/org/xrv-densenet121/resolve/main/xrv.safetensors`);
      hub.dispose();
    } finally {
      await new Promise<void>((ok) => server.close(() => ok()));
    }
    const source = m.provenance.sourceClasses;
    expect(m.cls.config.classes.slice(14)).toEqual([
      'Lung Lesion',
      'Fracture',
      'Lung Opacity',
      'Enlarged Cardiomediastinum',
    ]);
    expect(m.preprocess).toMatchObject({ size: 224, fit: 'crop', crop: 1, mean: 0.5, std: 1 / 2048 });
    const ours = forward(m);
    const theirs = ref.xrv.probs.map((row) => m.cls.config.classes.map((c) => row[source.indexOf(c)]!));
    expect(worst(ours, theirs)).toBeLessThan(TOLERANCE);
    const expected = Object.fromEntries(
      source.flatMap((c, i) => (ref.xrv.opThreshs[i] === null ? [] : [[c, ref.xrv.opThreshs[i]!]])),
    );
    expect(Object.keys(m.thresholds!).sort()).toEqual(Object.keys(expected).sort());
    for (const [c, t] of Object.entries(expected)) expect(m.thresholds![c]).toBeCloseTo(t, 6);
    // torchxrayvision's op_norm puts a class at or above 0.5 exactly where its probability reaches the threshold.
    ours.forEach((row, i) =>
      m.cls.config.classes.forEach((c, j) => {
        const t = m.thresholds![c];
        if (t !== undefined && Math.abs(row[j]! - t) > TOLERANCE)
          expect(row[j]! >= t, `${c} film ${i}`).toBe(ref.xrv.opNorm[i]![source.indexOf(c)]! >= 0.5);
      }),
    );
    // PyTorch's side opens ours: the numpy reader of the published format reads the imported encoder's weight file.
    const file = join(out, 'encoder.safetensors');
    await saveBlockWeights(m.encoder, file);
    const seen = readWithNumpy(file);
    expect(seen.metadata.format).toBe('multichexnet-weights');
    expect(JSON.parse(seen.metadata.block!).config).toEqual(m.encoder.config);
    expect(seen.metadata.dataSha256).toMatch(/^[0-9a-f]{64}$/);
    const named = m.encoder.namedWeights();
    expect(Object.keys(seen.tensors).length).toBe(named.length);
    for (const { name, variable } of named.filter((_, i) => i % 50 === 0)) {
      const v = variable.read().dataSync() as Float32Array;
      expect(seen.tensors[name]!.shape).toEqual(variable.shape);
      expect(seen.tensors[name]!.sum).toBeCloseTo(
        v.reduce((a: number, b: number) => a + b, 0),
        2,
      );
    }
    m.dispose();
  }, 120_000);
});

describe('README example', () => {
  it('runs as written on a torchxrayvision-layout checkpoint and a real DICOM', async () => {
    const lines = await runReadmeExample(new URL('../README.md', import.meta.url), '## Example', {
      replace: {
        "'densenet121-res224-all.safetensors'": JSON.stringify(join(dir, 'xrv.safetensors')),
        "'scan.dcm'": JSON.stringify(join(REALDATA, 'Fake_MONOHR1.dcm')),
      },
    });
    const [name, p, t] = lines.at(-1)!.split(' ');
    expect(name).toBe('Atelectasis');
    expect(Math.abs(Number(p) - ref.xrv.probs[3]![0]!)).toBeLessThan(TOLERANCE);
    expect(Number(t)).toBeCloseTo(ref.xrv.opThreshs[0]!, 6);
  }, 120_000);
});

describe('checkpoints that do not fit fail with one line naming the file, the first key or shape, and what was expected', () => {
  const attempt = async (bytes: Uint8Array, file: string, layout: ImportOptions['layout']): Promise<string> => {
    try {
      (await importCheckpoint(bytes, { layout, file })).dispose();
    } catch (e) {
      expect(e).toBeInstanceOf(DataError);
      expect((e as Error).message).not.toContain('\n');
      return (e as Error).message;
    }
    throw new Error(`${file} was imported`);
  };

  it('ResNet-50, DenseNet-169, a truncated file, a lying safetensors header', async () => {
    expect(await attempt(readFileSync(join(dir, 'resnet50.pth')), 'resnet50.pth', 'torchvision')).toMatch(
      /file resnet50\.pth, field conv1\.weight\): expected a DenseNet-121 key; next features\.conv0\.weight \[64, 3, 7, 7\], found conv1\.weight \[64, 3, 7, 7\]/,
    );
    expect(await attempt(readFileSync(join(dir, 'densenet169.pth')), 'densenet169.pth', 'torchvision')).toMatch(
      /file densenet169\.pth, field features\.denseblock3\.denselayer25\.norm1\.weight\): expected a DenseNet-121 key; next features\.transition3\.norm\.weight \[1024\]/,
    );
    const whole = readFileSync(join(dir, 'xrv.pth'));
    expect(await attempt(whole.subarray(0, whole.byteLength >> 1), 'cut.pth', 'torchxrayvision')).toMatch(
      /not a readable zip archive \(truncated or damaged\) \(file cut\.pth\)/,
    );
    const st = Buffer.from(readFileSync(join(dir, 'xrv.safetensors')));
    const text = st.toString('latin1');
    const liar = Buffer.from(text.replace('"shape": [64, 1, 7, 7]', '"shape": [64, 3, 7, 7]'), 'latin1');
    expect(liar.equals(st)).toBe(false);
    expect(await attempt(liar, 'liar.safetensors', 'torchxrayvision')).toMatch(
      /Safetensors header does not describe the data \(file liar\.safetensors, field features\.conv0\.weight\): expected 37632 bytes for F32 \[64, 3, 7, 7\], found data_offsets \[\d+, \d+\] \(12544 bytes\)/,
    );
    const cutSt = st.subarray(0, st.byteLength - 100);
    expect(await attempt(cutSt, 'cut.safetensors', 'torchxrayvision')).toMatch(/truncated.*file cut\.safetensors/);
  }, 120_000);

  it('a pickled module and the legacy torch.save format: the Python command that converts them', async () => {
    for (const f of ['module.pth', 'legacy.pth']) {
      const message = await attempt(readFileSync(join(dir, f)), f, 'torchvision');
      expect(message).toContain(`Checkpoint needs Python to load (file ${f})`);
      expect(message).toContain(
        f === 'module.pth' ? 'global torchvision.models.densenet.DenseNet' : 'legacy (pre-1.6, not zip)',
      );
      expect(message).toContain(
        `python -c "import torch; from safetensors.torch import save_file; o = torch.load('${f}', map_location='cpu', weights_only=False);`,
      );
      expect(message).toContain(`'${f.replace('.pth', '.safetensors')}')"`);
    }
    writeFileSync(join(out, 'x.bin'), 'not a checkpoint');
    expect(await attempt(readFileSync(join(out, 'x.bin')), 'x.bin', 'chexnet')).toMatch(
      /Not a checkpoint this importer reads \(file x\.bin\): expected a PyTorch zip checkpoint/,
    );
  });
});
