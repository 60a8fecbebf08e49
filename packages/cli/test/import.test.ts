import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, parseSafetensors } from '@multichexnet/core';
import {
  decodeImage,
  fitSample,
  resolvePreprocessConfig,
  type DecodedImage,
  type PreprocessConfigInput,
} from '@multichexnet/data';
import { LAYOUTS } from '@multichexnet/pretrained';
import { createPipeline } from '@multichexnet/runtime';
import { renderFilm, writeNonChestSet } from '@multichexnet/synth';
import { encode } from 'fast-png';
import { REALDATA, cli, flags } from './helpers';
import { synthesize } from './reliability-helpers';

// `multichexnet import` end to end, against PyTorch: the checkpoints and reference probabilities come from
// @multichexnet/pretrained's reference script (Debian's python3-torch), whose cache folder this test shares with that
// package's parity test (same key: the script and the fitted films). Missing torch fails, never skips.
const PYTHON = '/usr/bin/python3';
const SCRIPT = resolve(
  fileURLToPath(new URL('.', import.meta.url)),
  '..',
  '..',
  'pretrained',
  'test',
  'reference',
  'torch_reference.py',
);
const FILMS = [
  '00000001_000.png',
  'covid-19-pneumonia-58-prior.jpg',
  '1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm',
  'Fake_MONOHR1.dcm',
];
const SIZE = 224;
const TOLERANCE = 1e-4;

interface Reference {
  torchvision: { probs: number[][] };
  chexnet: { probsFolded: number[][] };
  xrv: { probs: number[][] };
}

const work = mkdtempSync(join(tmpdir(), 'cli-import-'));
let ref: Reference;
let refDir: string;
let films: DecodedImage[];

function fitted(image: DecodedImage, preprocess: PreprocessConfigInput): Float32Array {
  const f = fitSample({ image }, resolvePreprocessConfig(preprocess));
  return Float32Array.from(f.image, (v) => v / f.imageScale);
}

beforeAll(() => {
  const torch = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (torch.status !== 0)
    throw new Error(
      `${PYTHON} cannot import torch + torchvision (apt-get install python3-torch python3-torchvision): ${torch.stderr}`,
    );
  films = FILMS.map((f) => decodeImage(readFileSync(join(REALDATA, f)), f));
  const inputs = new Float32Array(2 * FILMS.length * SIZE * SIZE);
  [
    ...films.map((f) => fitted(f, LAYOUTS.chexnet.preprocess(1))),
    ...films.map((f) => fitted(f, LAYOUTS.torchxrayvision.preprocess(1))),
  ].forEach((g, i) => inputs.set(g, i * SIZE * SIZE));
  const bytes = new Uint8Array(inputs.buffer);
  refDir = join(
    tmpdir(),
    `multichexnet-torch-reference-${createHash('sha256').update(readFileSync(SCRIPT)).update(bytes).digest('hex').slice(0, 16)}`,
  );
  if (!existsSync(join(refDir, 'reference.json'))) {
    const tmp = `${refDir}.tmp-${process.pid}`;
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'inputs.f32'), bytes);
    const r = spawnSync(PYTHON, [SCRIPT, 'make', tmp, join(tmp, 'inputs.f32'), String(FILMS.length), String(SIZE)], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (r.status !== 0) throw new Error(`${SCRIPT}: ${r.stderr}`);
    try {
      renameSync(tmp, refDir);
    } catch {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  ref = JSON.parse(readFileSync(join(refDir, 'reference.json'), 'utf8')) as Reference;
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

function worst(ours: Record<string, number>[], theirs: number[][], sourceClasses: readonly string[]): number {
  let w = 0;
  ours.forEach((p, i) => {
    expect(Object.keys(p).length).toBeGreaterThan(0);
    for (const [c, v] of Object.entries(p)) w = Math.max(w, Math.abs(v - theirs[i]![sourceClasses.indexOf(c)]!));
  });
  return w;
}

describe('multichexnet import', () => {
  const cases = [
    {
      layout: 'torchxrayvision',
      file: 'xrv.safetensors',
      extra: [] as string[],
      theirs: () => ref.xrv.probs,
      classes: LAYOUTS.torchxrayvision.defaultClasses(18)!,
    },
    {
      layout: 'chexnet',
      file: 'chexnet.pth.tar',
      extra: [] as string[],
      theirs: () => ref.chexnet.probsFolded,
      classes: LAYOUTS.chexnet.defaultClasses(14)!,
    },
    {
      layout: 'torchvision',
      file: 'torchvision.pth',
      extra: ['--input-channels', '3'],
      theirs: () => ref.torchvision.probs,
      classes: LAYOUTS.torchvision.defaultClasses(14)!,
    },
  ];
  for (const c of cases) {
    it(`${c.layout}: a run folder whose exported ONNX model matches PyTorch within 1e-4 on onnxruntime-node and onnxruntime-web (real PNG, JPEG, both DICOMs)`, async () => {
      const run = join('runs', c.layout);
      const r = await cli(work, 'import', c.layout, join(refDir, c.file), '--out', run, ...c.extra, '--json');
      expect(r.code, r.err).toBe(0);
      const out = JSON.parse(r.out) as { preprocess: { size: number; channels?: number }; classes: string[] };
      expect(out.preprocess.size).toBe(224);
      const dir = join(work, run);
      expect(readdirSync(dir).sort()).toEqual([
        'calibration.json',
        'model.onnx',
        'model.stage1.onnx',
        'plan.json',
        'report.html',
        'weights',
      ]);
      expect(readdirSync(join(dir, 'weights')).sort()).toEqual([
        'cls.safetensors',
        'encoder.safetensors',
        'model.json',
      ]);
      const plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')) as {
        phases: unknown[];
        pretrained: { layout: string; sha256: string };
      };
      expect(plan.phases).toEqual([]);
      expect(plan.pretrained.layout).toBe(c.layout);
      for (const backend of ['node', 'web'] as const) {
        const pipe = await createPipeline({ model: dir, backend, gate: { enabled: false } });
        expect(pipe.metadata.preprocessing).toMatchObject({ size: 224, fit: 'crop' });
        const results = await pipe.runBatch(films);
        await pipe.dispose();
        expect(
          worst(
            results.map((x) => x.probabilities!),
            c.theirs(),
            c.classes,
          ),
          backend,
        ).toBeLessThan(TOLERANCE);
      }
    }, 180_000);
  }

  it('predict on the imported run applies its preprocessing: probabilities as PyTorch', async () => {
    // --js-decode: the PyTorch reference was fed the pure-JS decode; libjpeg-turbo (sharp, predict's default) may
    // differ by one grey level in a JPEG-compressed DICOM frame, which a random-weight DenseNet amplifies past 1e-4
    const r = await cli(
      work,
      'predict',
      join(REALDATA, FILMS[3]!),
      ...flags({ model: join('runs', 'torchxrayvision'), json: true, jsDecode: true }),
    );
    expect(r.code, r.err).toBe(0);
    const [p] = (JSON.parse(r.out) as { images: { probabilities: Record<string, number> }[] }).images;
    expect(worst([p!.probabilities], [ref.xrv.probs[3]!], LAYOUTS.torchxrayvision.defaultClasses(18)!)).toBeLessThan(
      TOLERANCE,
    );
    expect((await cli(work, 'report', join('runs', 'torchxrayvision'))).code).toBe(0);
    const again = await cli(work, 'export', join('runs', 'torchxrayvision'), '--out', 'reexport', '--json');
    expect(again.code, again.err).toBe(0);
    expect(
      readFileSync(join(work, 'reexport', 'model.onnx')).equals(
        readFileSync(join(work, 'runs', 'torchxrayvision', 'model.onnx')),
      ),
    ).toBe(true);
  }, 120_000);

  it('bad checkpoints: one line naming the file and the first key or shape that does not fit; nothing written to --out', async () => {
    const whole = readFileSync(join(refDir, 'xrv.pth'));
    writeFileSync(join(work, 'cut.pth'), whole.subarray(0, whole.byteLength >> 1));
    writeFileSync(
      join(work, 'liar.safetensors'),
      Buffer.from(
        readFileSync(join(refDir, 'xrv.safetensors'))
          .toString('latin1')
          .replace('"shape": [64, 1, 7, 7]', '"shape": [64, 3, 7, 7]'),
        'latin1',
      ),
    );
    const bad: [string, string, RegExp][] = [
      [
        join(refDir, 'resnet50.pth'),
        'torchvision',
        /resnet50\.pth, field conv1\.weight\): expected a DenseNet-121 key; next features\.conv0\.weight \[64, 3, 7, 7\]/,
      ],
      [
        join(refDir, 'densenet169.pth'),
        'torchvision',
        /densenet169\.pth, field features\.denseblock3\.denselayer25\.norm1\.weight\)/,
      ],
      ['cut.pth', 'torchxrayvision', /not a readable zip archive \(truncated or damaged\) \(file cut\.pth\)/],
      [
        'liar.safetensors',
        'torchxrayvision',
        /file liar\.safetensors, field features\.conv0\.weight\): expected 37632 bytes for F32 \[64, 3, 7, 7\]/,
      ],
      [
        join(refDir, 'module.pth'),
        'chexnet',
        /needs Python to load .*global torchvision\.models\.densenet\.DenseNet.*convert it once with: python -c "import torch;/,
      ],
    ];
    for (const [file, layout, re] of bad) {
      const r = await cli(work, 'import', layout, file, '--out', join('runs', 'bad'));
      expect(r.code, file).toBe(1);
      expect(r.err).toMatch(re);
      expect(
        r.err
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('multichexnet: error')).length,
      ).toBe(1);
      expect(existsSync(join(work, 'runs', 'bad'))).toBe(false);
      expect(readdirSync(join(work, 'runs')).filter((f) => f.includes('import-'))).toEqual([]);
    }
    const exists = await cli(
      work,
      'import',
      'chexnet',
      join(refDir, 'chexnet.pth.tar'),
      ...flags({ out: join('runs', 'torchxrayvision') }),
    );
    expect(exists.code).toBe(2);
    expect(exists.err).toMatch(/already exists/);
  }, 120_000);

  it('a plan with "init" starts Algorithm 1 at stage 2 from the imported run: det, seg and the gate trained on top, the encoder kept', async () => {
    await synthesize(work, 'data', { nih: 12, rsna: 12, siim: 12, covid: 16 }, 3);
    const plan = {
      name: 'stage2-on-xrv',
      init: join('runs', 'torchxrayvision'),
      imageSize: 64,
      model: { cls: {}, det: {}, seg: {}, gate: { kind: 'cls-path' } },
      phases: [
        {
          name: 'det',
          stage: 'pretrain',
          trainable: ['det'],
          batches: [{ datasets: ['rsna'], tasks: ['det'] }],
          steps: 2,
          batchSize: 2,
        },
        {
          name: 'seg',
          stage: 'pretrain',
          trainable: ['seg'],
          batches: [{ datasets: ['siim'], tasks: ['seg'] }],
          steps: 2,
          batchSize: 2,
        },
      ],
    };
    writeFileSync(join(work, 'stage2.json'), JSON.stringify(plan));
    const r = await cli(
      work,
      'train',
      'stage2.json',
      ...flags({ data: 'data', run: join('runs', 'stage2'), noExport: true, noEval: true, noReport: true, json: true }),
    );
    expect(r.code, r.err).toBe(0);
    const resolved = JSON.parse(readFileSync(join(work, 'runs', 'stage2', 'plan.json'), 'utf8')) as {
      model: { encoder: { preset: string }; cls: { classes: string[] } };
      preprocess: { mean: number; std: number; fit: string };
    };
    expect(resolved.model.encoder.preset).toBe('densenet121');
    expect(resolved.model.cls.classes.slice(14)).toEqual([
      'Lung Lesion',
      'Fracture',
      'Lung Opacity',
      'Enlarged Cardiomediastinum',
    ]);
    expect(resolved.preprocess).toMatchObject({ mean: 0.5, std: 1 / 2048, fit: 'crop' });
    expect(readdirSync(join(work, 'runs', 'stage2', 'weights')).sort()).toEqual([
      'cls.safetensors',
      'det.safetensors',
      'encoder.safetensors',
      'model.json',
      'seg.safetensors',
    ]);
    const data = (f: string): string => parseSafetensors(readFileSync(f), f).metadata.dataSha256!;
    // Frozen in both phases: the imported encoder and classifier come out unchanged.
    for (const b of ['encoder', 'cls'])
      expect(data(join(work, 'runs', 'stage2', 'weights', `${b}.safetensors`)), b).toBe(
        data(join(work, 'runs', 'torchxrayvision', 'weights', `${b}.safetensors`)),
      );
  }, 300_000);

  it('eval and transfer accept the imported run (its preprocessing, its classes)', async () => {
    const run = join('runs', 'torchxrayvision');
    const ev = await cli(work, 'eval', run, '--data', 'data', '--no-report', '--json');
    expect(ev.code, ev.err).toBe(0);
    const test = JSON.parse(readFileSync(join(work, run, 'eval-test.json'), 'utf8')) as {
      metrics: { cls?: { perClassAuroc: Record<string, number> } };
    };
    expect(Object.keys(test.metrics.cls!.perClassAuroc)).toContain('Effusion');
    const tr = await cli(
      work,
      'transfer',
      ...flags({
        from: run,
        covid: join('data', 'covid'),
        steps: 2,
        batchSize: 4,
        run: join('runs', 'covid'),
        noExport: true,
        noReport: true,
        json: true,
      }),
    );
    expect(tr.code, tr.err).toBe(0);
    const transfer = JSON.parse(readFileSync(join(work, 'runs', 'covid', 'transfer.json'), 'utf8')) as {
      imageSize?: number;
      preprocess?: { mean: number };
    };
    expect(transfer.imageSize).toBe(224);
    expect(transfer.preprocess?.mean).toBe(0.5);
  }, 300_000);

  it('--ood-films fits the OOD refusal of an imported model on frontal films; predict then refuses a page of text', async () => {
    const films = join(work, 'frontal');
    mkdirSync(films, { recursive: true });
    for (let i = 0; i < 16; i++) {
      const f = renderFilm(
        { size: 128, view: 'PA', sex: i % 2 ? 'F' : 'M', findings: [] },
        createRng(`import-ood-${i}`),
      );
      writeFileSync(
        join(films, `film-${String(i).padStart(2, '0')}.png`),
        encode({ width: 128, height: 128, data: f.pixels, channels: 1, depth: 8 }),
      );
    }
    const r = await cli(
      work,
      'import',
      'torchxrayvision',
      join(refDir, 'xrv.safetensors'),
      ...flags({ out: join('runs', 'xrv-ood'), oodFilms: films, json: true }),
    );
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as { ood: { fittedOn: number; thresholdOn: number } }).ood).toMatchObject({
      fittedOn: 13,
      thresholdOn: 16,
    }); // 3 held-out films + the 13 out-of-fold scores (too few for 2%)
    expect(readdirSync(join(work, 'runs', 'xrv-ood'))).toContain('ood.json');
    const page = await writeNonChestSet(join(work, 'pages'), { perKind: 1, size: 128, seed: 2, kinds: ['text'] });
    const p = await cli(
      work,
      'predict',
      page.text[0]!,
      join(films, 'film-04.png'),
      ...flags({ model: join('runs', 'xrv-ood'), json: true }),
    );
    expect(p.code, p.err).toBe(0);
    const [text, film] = (
      JSON.parse(p.out) as { images: { refused?: boolean; ood: { score: number; threshold: number } }[] }
    ).images;
    expect(text!.refused).toBe(true);
    expect(text!.ood.score).toBeGreaterThan(text!.ood.threshold);
    expect(film!.refused).toBeUndefined();
    const few = await cli(
      work,
      'import',
      'torchxrayvision',
      join(refDir, 'xrv.safetensors'),
      ...flags({ out: join('runs', 'xrv-few'), oodFilms: join(films, 'film-00.png') }),
    );
    expect(few.code).toBe(2);
    expect(few.err).toMatch(/--ood-films: 1 film\(s\) found; give at least 10 frontal chest films/);
    expect(existsSync(join(work, 'runs', 'xrv-few'))).toBe(false);
  }, 300_000);
});
