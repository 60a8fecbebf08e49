import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { scaleProbability } from '@multichexnet/core';
import { decodePng, type SplitConfig } from '@multichexnet/data';
import { loadMultiCheXNet } from '@multichexnet/model';
import { clsTask } from '@multichexnet/head-cls';
import { detTask } from '@multichexnet/head-det';
import { segTask } from '@multichexnet/head-seg';
import {
  calibrate,
  evaluate,
  openTrainingData,
  parsePlan,
  taskMetrics,
  type Calibration,
  type DatasetRoots,
  type EvalSets,
} from '@multichexnet/trainer';
import { verifyModelBytes } from '@multichexnet/runtime';
import type { PredictOutput } from '../src/actions/predict';
import type { Gallery, TestEvaluation } from '../src/report/report-data';
import { cli, flags, lines, realFile } from './helpers';
import { THREE_HEADS, mtlPhase, pretrainPhase } from './plans';
import { synthesize } from './reliability-helpers';

/*
 * One tiny real run shared by every test of this file: synthetic data written by `synth`, a four-phase plan (the
 * Algorithm 1 stages and joint MTL, a few steps each at 64 px) trained by `train`, which also exports, evaluates,
 * renders the gallery and the report. Every number the assertions read comes from that run.
 */
let dir: string;
let runDir: string;
let trainOut: Record<string, unknown>;
let test: TestEvaluation;

const PLAN = {
  name: 'cli-fixture',
  seed: 5,
  imageSize: 64,
  model: { encoder: { preset: 'densenet-tiny' }, ...THREE_HEADS },
  logEvery: 2,
  phases: [
    pretrainPhase('cls', 'nih', 4, true),
    pretrainPhase('det', 'rsna', 2),
    pretrainPhase('seg', 'siim', 2),
    mtlPhase(4),
  ],
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcx-cli-run-'));
  await synthesize(dir, 'data', { nih: 48, rsna: 32, siim: 32, covid: 60 }, 2);
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(PLAN));
  const r = await cli(dir, 'train', 'plan.json', '--data', 'data', '--run', 'runs/fixture', '--json');
  expect(r.code, r.err).toBe(0);
  trainOut = JSON.parse(r.out) as Record<string, unknown>;
  runDir = join(dir, 'runs', 'fixture');
  test = JSON.parse(readFileSync(join(runDir, 'eval-test.json'), 'utf8')) as TestEvaluation;
}, 600_000);

describe('train writes a complete run folder', () => {
  it('holds the config, checkpoints, metrics, weights, the ONNX files, the evaluation, the gallery and the report', () => {
    for (const f of [
      'plan.json',
      'data.json',
      'metrics.jsonl',
      'eval.json',
      'eval-test.json',
      'model.onnx',
      'model.stage1.onnx',
      'model.stage2.onnx',
      'report.html',
      'gallery/gallery.json',
      'weights/model.json',
      'checkpoints/latest.json',
    ]) {
      expect(existsSync(join(runDir, f)), f).toBe(true);
    }
    const blocks = readdirSync(join(runDir, 'weights'))
      .filter((f) => f.endsWith('.safetensors'))
      .sort();
    expect(blocks).toEqual(['cls.safetensors', 'det.safetensors', 'encoder.safetensors', 'seg.safetensors']);
    const steps = lines(readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')).map(
      (l) => JSON.parse(l) as { type: string; phase: string },
    );
    expect(new Set(steps.filter((s) => s.type === 'step').map((s) => s.phase))).toEqual(
      new Set(PLAN.phases.map((p) => p.name)),
    );
  });

  it('--json prints one document: run, status, validation and test metrics, model files, report', () => {
    expect(trainOut).toMatchObject({
      run: runDir,
      plan: 'cli-fixture',
      status: 'completed',
      report: join(runDir, 'report.html'),
    });
    expect(trainOut.model).toMatchObject({
      model: join(runDir, 'model.onnx'),
      stage1: join(runDir, 'model.stage1.onnx'),
      stage2: join(runDir, 'model.stage2.onnx'),
    });
    expect(trainOut.test).toEqual(test.metrics);
  });

  it('eval-test.json holds the metrics and the curves behind them', () => {
    const m = test.metrics;
    const [cls, det, seg] = [taskMetrics(test, clsTask)!, taskMetrics(test, detTask)!, taskMetrics(test, segTask)!];
    expect(test.split).toBe('test');
    expect(cls.images).toBeGreaterThan(0);
    expect(det.images).toBeGreaterThan(0);
    expect(seg.images).toBeGreaterThan(0);
    expect(m.gate!.count).toBe(
      m.gate!.truePositives + m.gate!.falsePositives + m.gate!.trueNegatives + m.gate!.falseNegatives,
    );
    // One ROC per class; a class with both labels in the split has a curve from (0,0) to (1,1).
    expect(test.curves.roc!.map((r) => r.name)).toEqual(Object.keys(cls.perClassAuroc));
    for (const r of test.curves.roc!) {
      if (r.positives > 0 && r.negatives > 0) {
        expect(r.points[0]).toEqual({ fpr: 0, tpr: 0 });
        expect(r.points.at(-1)).toEqual({ fpr: 1, tpr: 1 });
      } else {
        expect(r.points).toEqual([]);
      }
    }
    expect(test.curves.dice!.values).toHaveLength(seg.images);
    const mean = test.curves.dice!.values.reduce((a, b) => a + b, 0) / test.curves.dice!.values.length;
    expect(mean).toBeCloseTo(seg.dice, 10);
  });
});

describe('report.html', () => {
  const html = (): string => readFileSync(join(runDir, 'report.html'), 'utf8');

  it('is self-contained: inline SVG charts and base64 PNGs, nothing fetched', () => {
    const page = html();
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/<link/i);
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect(page).not.toMatch(/url\(/i);
    expect((page.match(/<svg [^>]*class="chart marks"/g) ?? []).length).toBeGreaterThanOrEqual(4);
    expect(page).toMatch(/data:image\/png;base64,/);
  });

  it('shows the numbers of the run', () => {
    const page = html();
    expect(page).toContain(`<div class="card-value">${taskMetrics(test, clsTask)!.meanAuroc.toFixed(3)}</div>`);
    expect(page).toContain(`<div class="card-value">${taskMetrics(test, segTask)!.dice.toFixed(3)}</div>`);
    const withRoc = test.curves.roc!.filter((r) => r.points.length > 1);
    for (const r of withRoc) expect(page).toContain(`${r.name}  AUROC ${r.auroc.toFixed(3)}`);
    for (const p of PLAN.phases) expect(page).toContain(`<code>${p.name}</code>`);
  });

  it('has a gallery of the exported pipeline on test images, truth and predictions marked', () => {
    const g = JSON.parse(readFileSync(join(runDir, 'gallery', 'gallery.json'), 'utf8')) as Gallery;
    expect(g.items.length).toBeGreaterThan(0);
    expect(new Set(g.items.map((i) => i.source))).toEqual(new Set(['rsna', 'siim', 'nih']));
    for (const item of g.items) {
      const png = decodePng(readFileSync(join(runDir, 'gallery', item.image)), item.image);
      expect([png.width, png.height]).toEqual([item.size, item.size]);
      if (item.gate.truth !== null)
        expect(item.flags.includes('gate miss')).toBe(item.gate.truth && !item.gate.positive);
      for (const b of item.boxes) expect(b.x + b.width).toBeLessThanOrEqual(item.size + 1e-6);
    }
    const page = html();
    expect((page.match(/<figure class="xr">/g) ?? []).length).toBe(g.items.length);
  });

  it('`report` re-renders the same page from the folder', async () => {
    const before = html();
    const r = await cli(dir, 'report', 'runs/fixture', '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ report: join(runDir, 'report.html') });
    expect(html()).toBe(before);
  });
});

describe('eval, export, predict on the run', () => {
  it('`eval` reproduces the test metrics of the run', async () => {
    const r = await cli(dir, 'eval', 'runs/fixture', '--json', '--no-report');
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as { evaluation: TestEvaluation; split: string };
    expect(out.split).toBe('test');
    expect(out.evaluation.metrics).toEqual(test.metrics);
  });

  it('`export --out` writes the same model.onnx bytes as training did', async () => {
    const r = await cli(dir, 'export', 'runs/fixture', '--out', 'exported', '--json');
    expect(r.code, r.err).toBe(0);
    const a = readFileSync(join(runDir, 'model.onnx'));
    const b = readFileSync(join(dir, 'exported', 'model.onnx'));
    expect(b.equals(a)).toBe(true);
    const { metadata } = await verifyModelBytes(new Uint8Array(a), 'model.onnx');
    expect(metadata.role).toBe('model');
    expect(metadata.preprocessing?.size).toBe(PLAN.imageSize);
    expect(metadata.gate).toMatchObject({
      source: 'cls',
      threshold: (JSON.parse(readFileSync(join(runDir, 'eval.json'), 'utf8')) as { gate: { threshold: number } }).gate
        .threshold,
    });
  });

  const REAL = [
    '00000001_000.png',
    '16747_3_1.jpg',
    '1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm',
    'Fake_MONOHR1.dcm',
  ];
  const present = REAL.map(realFile);

  it.skipIf(present.some((p) => p === null))(
    'predicts on the real PNG, JPEG and DICOM files with model.onnx, overlays included',
    async () => {
      const r = await cli(
        dir,
        'predict',
        '--model',
        join('runs', 'fixture', 'model.onnx'),
        ...(present as string[]),
        '--overlay',
        'overlays',
        '--json',
      );
      expect(r.code, r.err).toBe(0);
      const out = JSON.parse(r.out) as PredictOutput;
      expect(out.model.kind).toBe('single-graph');
      expect(out.images.map((i) => i.format)).toEqual(['png', 'jpeg', 'dicom', 'dicom']);
      for (const img of out.images) {
        expect(Object.keys(img.probabilities)).toEqual(out.model.classes);
        for (const p of Object.values(img.probabilities)) expect(p).toBeGreaterThanOrEqual(0);
        expect(img.top).toHaveLength(3);
        expect(img.maskRle === '-1' || /^\d+( \d+)*$/.test(img.maskRle)).toBe(true);
        for (const b of img.boxes) expect(b.x + b.width).toBeLessThanOrEqual(img.width + 1e-3);
        const overlay = decodePng(readFileSync(img.overlay!), img.overlay!);
        expect([overlay.width, overlay.height]).toEqual([img.width, img.height]);
      }
    },
  );

  it.skipIf(present.some((p) => p === null))(
    'model.onnx decodes like the gated pipeline: same probabilities, boxes and masks',
    async () => {
      const files = present as string[];
      const single = await cli(
        dir,
        'predict',
        '--model',
        join('runs', 'fixture', 'model.onnx'),
        '--no-gate',
        '--score-threshold',
        '0.05',
        ...files,
        '--json',
      );
      const pipe = await cli(
        dir,
        'predict',
        '--model',
        join('runs', 'fixture'),
        '--no-gate',
        '--score-threshold',
        '0.05',
        ...files,
        '--json',
      );
      expect(single.code, single.err).toBe(0);
      expect(pipe.code, pipe.err).toBe(0);
      const a = JSON.parse(single.out) as PredictOutput;
      const b = JSON.parse(pipe.out) as PredictOutput;
      expect(b.model.kind).toBe('pipeline');
      a.images.forEach((x, i) => {
        const y = b.images[i]!;
        for (const c of a.model.classes) expect(x.probabilities[c]).toBeCloseTo(y.probabilities[c]!, 4);
        expect(x.boxes.length).toBe(y.boxes.length);
        x.boxes.forEach((bx, k) => {
          expect(bx.score).toBeCloseTo(y.boxes[k]!.score, 4);
          expect(bx.x).toBeCloseTo(y.boxes[k]!.x, 1);
          expect(bx.width).toBeCloseTo(y.boxes[k]!.width, 1);
        });
        // Masks agree up to pixels on the threshold's edge.
        expect(Math.abs(x.maskPixels - y.maskPixels)).toBeLessThanOrEqual(Math.max(2, 0.01 * y.maskPixels));
      });
    },
  );

  // dcmtk / gdcm write the real SIIM film in the compressed transfer syntaxes (the data package's tests hold the full
  // list; one project's test may not import another's files)
  const TRANSCODE: [string, string[], boolean][] = [
    ['dcmconv', ['+tb'], true],
    ['dcmconv', ['+td'], true],
    ['dcmcrle', [], true],
    ['dcmcjpeg', ['+el'], true],
    ['dcmcjpeg', ['+e1'], true],
    ['dcmcjpls', [], true],
    ['dcmcjpls', ['+en'], false],
    ['gdcmconv', ['--j2k'], true],
    ['gdcmconv', ['--j2k', '--lossy', '-r', '5'], false],
  ];
  const haveTools = ['dcmdjpeg', ...TRANSCODE.map((t) => t[0])].every(
    (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0,
  );
  it.skipIf(present[2] === null || !haveTools)(
    'predicts every compressed DICOM transfer syntax: lossless ones exactly as the uncompressed film, with sharp or --js-decode',
    async () => {
      const native = join(dir, 'siim-native.dcm');
      const run = (cmd: string, args: string[]): void =>
        void expect(spawnSync(cmd, args, { encoding: 'utf8' }).status, `${cmd} ${args.join(' ')}`).toBe(0);
      run('dcmdjpeg', [present[2]!, native]);
      const files = TRANSCODE.map(([tool, args], k) => {
        const out = join(dir, `siim-${k}.dcm`);
        run(tool, [...args, native, out]);
        return out;
      });
      const byDecoder: Record<string, number>[] = [];
      for (const decode of [[], ['--js-decode']]) {
        const r = await cli(
          dir,
          'predict',
          '--model',
          join('runs', 'fixture', 'model.onnx'),
          '--no-gate',
          native,
          ...files,
          ...decode,
          '--json',
        );
        expect(r.code, r.err).toBe(0);
        const [ref, ...rest] = (JSON.parse(r.out) as PredictOutput).images;
        byDecoder.push(ref!.probabilities);
        rest.forEach((img, k) => {
          expect([img.format, img.width, img.height]).toEqual(['dicom', 1024, 1024]);
          for (const c of Object.keys(ref!.probabilities)) {
            if (TRANSCODE[k]![2]) expect(img.probabilities[c], `${files[k]} ${c}`).toBe(ref!.probabilities[c]);
            else expect(img.probabilities[c]!).toBeCloseTo(ref!.probabilities[c]!, 2);
          }
        });
      }
      // sharp's decode and native resize feed the model nearly what the pure-JS path does
      for (const c of Object.keys(byDecoder[0]!)) expect(byDecoder[0]![c]!).toBeCloseTo(byDecoder[1]![c]!, 2);
    },
  );

  it('predicts on a folder of synthetic DICOMs (walked recursively) and writes --out', async () => {
    const r = await cli(
      dir,
      'predict',
      join('data', 'siim'),
      ...flags({ model: join('runs', 'fixture'), out: 'siim.json', quiet: true }),
    );
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(readFileSync(join(dir, 'siim.json'), 'utf8')) as PredictOutput;
    expect(out.images).toHaveLength(32);
    expect(out.images.every((i) => i.format === 'dicom')).toBe(true);
    expect(lines(r.out)).toHaveLength(33);
    expect(r.err).toBe('');
  });
});

describe('decision settings chosen on the validation split (as Table 1 chooses them)', () => {
  /** The calibration the trainer's own API chooses on this run's validation split, independently of the CLI. */
  async function trainerCalibration(): Promise<Calibration> {
    const recorded = JSON.parse(readFileSync(join(runDir, 'data.json'), 'utf8')) as {
      roots: DatasetRoots;
      split: SplitConfig;
    };
    const data = await openTrainingData(recorded.roots, recorded.split);
    const model = await loadMultiCheXNet(join(runDir, 'weights'));
    try {
      const val: EvalSets = {};
      for (const s of ['nih', 'rsna', 'siim'] as const) if (data[s] !== undefined) val[s] = data[s]!.val;
      return calibrate(
        (await evaluate(model, val, { imageSize: PLAN.imageSize, preprocess: parsePlan(PLAN).preprocess })).raw,
        model,
      );
    } finally {
      model.dispose();
    }
  }

  it('eval-test.json records the settings chosen on val, and the test metrics are measured with them', async () => {
    const want = await trainerCalibration();
    expect(want.det?.scoreThreshold).toBeDefined();
    expect(want.seg?.minArea).toBeDefined();
    expect(Object.keys(want.cls?.thresholds ?? {})).toEqual(Object.keys(test.metrics.cls!.perClassAuroc as object));
    expect(test.calibration).toEqual({ chosenOn: 'val', gating: 'gate', tasks: want });
    expect(test.metrics.det!.scoreThreshold).toBe(want.det!.scoreThreshold);
    expect(test.metrics.seg!.minArea).toBe(want.seg!.minArea);
    expect(JSON.parse(readFileSync(join(runDir, 'calibration.json'), 'utf8'))).toEqual(test.calibration);
    expect(trainOut.calibration).toEqual(test.calibration);
  });

  it('the exported graphs decode with the same settings (mapped through the recorded temperatures)', async () => {
    const c = test.calibration!;
    for (const file of ['model.onnx', 'model.stage2.onnx']) {
      const { decode, temperature } = (await verifyModelBytes(new Uint8Array(readFileSync(join(runDir, file))), file))
        .metadata;
      const recorded = decode as Record<string, Record<string, unknown> | undefined>;
      expect(temperature, file).not.toBeNull();
      const T = (task: string, cls?: string): number => {
        const t = temperature!.tasks[task]?.temperature;
        return t === undefined ? 1 : typeof t === 'number' ? t : (t[cls!] ?? 1);
      };
      expect(recorded.det?.scoreThreshold, file).toBeCloseTo(
        scaleProbability(c.tasks.det!.scoreThreshold as number, T('det')),
        12,
      );
      expect(recorded.seg?.minArea, file).toBe(c.tasks.seg!.minArea);
      const thresholds = recorded.cls?.thresholds as Record<string, number>;
      for (const [cls, t] of Object.entries(c.tasks.cls!.thresholds as Record<string, number>))
        expect(thresholds[cls], `${file} ${cls}`).toBeCloseTo(scaleProbability(t, T('cls', cls)), 12);
    }
  });

  it('report.html shows them next to the headline cards', () => {
    const page = readFileSync(join(runDir, 'report.html'), 'utf8');
    const line = /<p class="muted" id="calibration">([^<]*)<\/p>/.exec(page)?.[1] ?? '';
    expect(line).toContain('chosen on the validation split');
    expect(line).toContain(`box score &gt;= ${test.calibration!.tasks.det!.scoreThreshold}`);
    expect(line).toContain(`min mask area ${test.calibration!.tasks.seg!.minArea} px`);
    expect(page.indexOf('id="calibration"')).toBeGreaterThan(page.lastIndexOf('class="card-value"'));
  });

  it('`export` of a run without calibration.json chooses them again on the recorded data', async () => {
    rmSync(join(runDir, 'calibration.json'));
    const r = await cli(dir, 'export', 'runs/fixture', '--out', 'recalibrated', '--json');
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as { calibration: unknown }).calibration).toEqual(test.calibration);
    expect(JSON.parse(readFileSync(join(runDir, 'calibration.json'), 'utf8'))).toEqual(test.calibration);
    expect(readFileSync(join(dir, 'recalibrated', 'model.onnx')).equals(readFileSync(join(runDir, 'model.onnx')))).toBe(
      true,
    );
  });

  it('`eval --split val` evaluates val with the settings chosen on it, and says so', async () => {
    const r = await cli(dir, 'eval', 'runs/fixture', '--split', 'val', '--no-report');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(
      /decision settings chosen on val: \d+ per-class F1 thresholds, box score >= [\d.]+, min mask area \d+ px/,
    );
    const ev = JSON.parse(readFileSync(join(runDir, 'eval-val.json'), 'utf8')) as TestEvaluation;
    expect(ev.split).toBe('val');
    expect(ev.calibration).toEqual(test.calibration);
    expect(ev.metrics.det!.scoreThreshold).toBe(test.calibration!.tasks.det!.scoreThreshold);
  });
});

describe('transfer', () => {
  it('fine-tunes the run to COVID-19, exports it and reports the test metrics of transfer.json', async () => {
    const r = await cli(
      dir,
      'transfer',
      ...flags({
        from: 'runs/fixture',
        covid: join('data', 'covid'),
        steps: 3,
        batchSize: 8,
        run: 'runs/covid',
        json: true,
      }),
    );
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as {
      run: string;
      classes: string[];
      freeze: string;
      test: { perClass: Record<string, { auroc: number }>; meanAuroc: number };
      model: { model: string };
      report: string;
    };
    const tr = join(dir, 'runs', 'covid');
    expect(out).toMatchObject({
      run: tr,
      classes: ['COVID-19'],
      freeze: 'encoder-frozen',
      report: join(tr, 'report.html'),
    });
    for (const f of [
      'transfer.json',
      'metrics.jsonl',
      'weights/model.json',
      'model.onnx',
      'model.stage1.onnx',
      'eval-test.json',
      'report.html',
    ])
      expect(existsSync(join(tr, f)), f).toBe(true);
    const record = JSON.parse(readFileSync(join(tr, 'transfer.json'), 'utf8')) as { test: { meanAuroc: number } };
    expect(out.test.meanAuroc).toBe(record.test.meanAuroc);
    const ev = JSON.parse(readFileSync(join(tr, 'eval-test.json'), 'utf8')) as TestEvaluation;
    expect((ev.metrics.cls!.perClassAuroc as Record<string, number>)['COVID-19']).toBe(
      out.test.perClass['COVID-19']!.auroc,
    );
    const { metadata } = await verifyModelBytes(new Uint8Array(readFileSync(join(tr, 'model.onnx'))), 'model.onnx');
    expect(metadata.classNames).toEqual(['COVID-19']);
    const page = readFileSync(join(tr, 'report.html'), 'utf8');
    expect(page).toContain('Transfer (fine-tuning)');
    expect(page).toContain(`<td class="num">${out.test.perClass['COVID-19']!.auroc.toFixed(3)}</td>`);
  });

  it('fine-tuning checkpoints its run: the same --run again is refused without --resume, and --resume finishes it', async () => {
    const args = [
      'transfer',
      '--from',
      'runs/fixture',
      '--covid',
      join('data', 'covid'),
      '--steps',
      '3',
      '--batch-size',
      '8',
      '--run',
      'runs/covid',
      '--no-export',
      '--no-report',
    ];
    const again = await cli(dir, ...args);
    expect(again.code).not.toBe(0);
    expect(lines(again.err)).toHaveLength(1);
    expect(again.err).toMatch(/already holds checkpoints/);
    const before = JSON.parse(readFileSync(join(dir, 'runs', 'covid', 'transfer.json'), 'utf8')) as {
      test: { meanAuroc: number };
    };
    const resumed = await cli(dir, ...args, '--resume', '--json');
    expect(resumed.code, resumed.err).toBe(0);
    expect((JSON.parse(resumed.out) as { test: { meanAuroc: number } }).test.meanAuroc).toBe(before.test.meanAuroc);
  });

  it('an unknown freeze mode is a usage error naming the allowed ones', async () => {
    const r = await cli(
      dir,
      'transfer',
      ...flags({ from: 'runs/fixture', covid: join('data', 'covid'), freeze: 'frozen' }),
    );
    expect(r.code).toBe(2);
    expect(lines(r.err)).toHaveLength(1);
    expect(r.err).toMatch(
      /freeze: must be one of "encoder-frozen", "feats-frozen", "all-trainable"; received "frozen"/,
    );
  });
});
