import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CORE_VARIANTS } from '@multichexnet/experiments';
import { verifyModelBytes } from '@multichexnet/runtime';
import { writeNonChestSet } from '@multichexnet/synth';
import { openTrainingData } from '@multichexnet/trainer';
import type { TestEvaluation } from '../src/report/report-data';
import { REPO_ROOT, cli, flags, lines, shellEnv } from './helpers';

/*
 * The quickstart's whole flow on a small synthetic set with every phase cut to a step or two: the experiment
 * functions train all six variants (the MultiCheXNet ones from one shared pre-training), Table 1 and Table 2
 * are written, and the MultiCheXNet (joint) model becomes the folder's run: plan, merged metrics, weights, ONNX,
 * evaluation, gallery, report with both tables. The numbers are whatever that run produced.
 */
let dir: string;
let out: string;
/** Floors of the OOD refusal on this barely trained model (step scale 0.005), from its measured rates. */
const NON_CHEST_FLOOR = 0.8;
const FRONTAL_CEILING = 0.25;
let result: { out: string; test: TestEvaluation['metrics']; report: string; model: { model: string }; verdict: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcx-cli-qs-'));
  const r = await cli(
    dir,
    'quickstart',
    ...flags({ out: 'qs', seed: 4, stepScale: 0.005, nih: 40, rsna: 30, siim: 30, json: true }),
  );
  expect(r.code, r.err).toBe(0);
  result = JSON.parse(r.out) as typeof result;
  out = join(dir, 'qs');
}, 900_000);

describe('quickstart', () => {
  it('writes the run folder with the model, the report and both tables', () => {
    expect(result.out).toBe(out);
    for (const f of [
      'model.onnx',
      'model.stage1.onnx',
      'model.stage2.onnx',
      'report.html',
      'plan.json',
      'metrics.jsonl',
      'eval-test.json',
      'weights/model.json',
      'table1.json',
      'table1.md',
      'table2.json',
      'table2.md',
      'data/synth.json',
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    // the shared pre-training and the paper's original six variants
    for (const v of ['pretrain', ...CORE_VARIANTS])
      expect(existsSync(join(out, v, 'weights', 'model.json')), v).toBe(true);
    expect(result.model.model).toBe(join(out, 'model.onnx'));
  });

  it("presents the joint variant: its weights, and its test metrics equal Table 1's row", () => {
    for (const b of ['encoder', 'cls', 'det', 'seg'])
      expect(
        readFileSync(join(out, 'weights', `${b}.safetensors`)).equals(
          readFileSync(join(out, 'multichexnet-joint', 'weights', `${b}.safetensors`)),
        ),
      ).toBe(true);
    const t1 = JSON.parse(readFileSync(join(out, 'table1.json'), 'utf8')) as {
      rows: { variant: string; cls?: { meanAuroc: number }; seg?: { dice: number }; det?: { mAP: number } }[];
      verdict: string;
    };
    const joint = t1.rows.find((r) => r.variant === 'multichexnet-joint')!;
    expect(result.test.cls!.meanAuroc).toBeCloseTo(joint.cls!.meanAuroc, 10);
    expect(result.test.seg!.dice).toBeCloseTo(joint.seg!.dice, 10);
    expect(result.test.det!.mAP).toBeCloseTo(joint.det!.mAP, 10);
    expect(result.verdict).toBe(t1.verdict);
  });

  it('merges the pre-training and the joint MTL metrics on one step axis, phases in plan order', () => {
    const plan = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8')) as { phases: { name: string }[] };
    const recs = lines(readFileSync(join(out, 'metrics.jsonl'), 'utf8')).map(
      (l) => JSON.parse(l) as { type: string; phase: string; globalStep: number },
    );
    const steps = recs.filter((r) => r.type === 'step');
    const order = [...new Set(steps.map((r) => r.phase))];
    expect(order).toEqual(plan.phases.map((p) => p.name));
    for (let i = 1; i < steps.length; i++) expect(steps[i]!.globalStep).toBeGreaterThan(steps[i - 1]!.globalStep);
  });

  it('the report shows both paper tables with the numbers of table1.json and table2.json', () => {
    const page = readFileSync(join(out, 'report.html'), 'utf8');
    const t1 = JSON.parse(readFileSync(join(out, 'table1.json'), 'utf8')) as {
      rows: { label: string; steps: number }[];
    };
    const t2 = JSON.parse(readFileSync(join(out, 'table2.json'), 'utf8')) as {
      rows: { variant: string; gating: string; seg?: { dice: number } }[];
    };
    expect(page).toContain('Table 1: single-task baselines, BigBang MTL and MultiCheXNet');
    expect(page).toContain('Table 2');
    for (const r of t1.rows) expect(page).toContain(r.label);
    for (const r of t2.rows.filter((x) => x.seg !== undefined && Number.isFinite(x.seg.dice)))
      expect(page).toContain(`>${r.seg!.dice.toFixed(3)}</td>`);
  });

  it('a second run reuses the data and the trained variants', async () => {
    const r = await cli(
      dir,
      'quickstart',
      ...flags({ out: 'qs', seed: 4, stepScale: 0.005, nih: 40, rsna: 30, siim: 30, json: true }),
    );
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`reusing the synthetic data in ${join(out, 'data')}`);
    expect(r.err).not.toMatch(/^synth /m);
    expect((JSON.parse(r.out) as typeof result).test).toEqual(result.test);
  }, 240_000);

  it('closes with a command that runs as printed from the repository root (npx finds the workspace bin)', async () => {
    // As `npm run quickstart` runs it: from the repository root (here with the folder above, reused).
    const r = await cli(
      REPO_ROOT,
      'quickstart',
      ...flags({ out, seed: 4, stepScale: 0.005, nih: 40, rsna: 30, siim: 30 }),
    );
    expect(r.code, r.err).toBe(0);
    const next = lines(r.out).find((l) => l.startsWith('next:'));
    const command = next?.slice('next:'.length).trim() ?? '';
    expect(command).toMatch(/^npx multichexnet predict --model \S+\/model\.onnx \S+\.dcm +# /);
    const film = command.split(/\s+/)[5]!;
    expect(existsSync(film)).toBe(true);
    const run = spawnSync('sh', ['-c', command], {
      cwd: REPO_ROOT,
      env: shellEnv(),
      encoding: 'utf8',
      timeout: 240_000,
    });
    expect(run.status, `${command}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(`^${film.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\[dicom \\d+x\\d+\\]: gate `),
    );
  }, 240_000);
});

describe('experiment table3 / table4 on the quickstart folder', () => {
  it('reuses its models and data, writes both tables and a report that shows them', async () => {
    // both tables reuse the quickstart folder's models and data, each with two fine-tuning steps
    const experiment = (table: string, extra: Readonly<Record<string, number>> = {}) =>
      cli(
        dir,
        'experiment',
        table,
        ...flags({ reuse: 'qs', out: 'transfer', ...extra, fineTuneSteps: 2, stepScale: 0.005, seed: 4, json: true }),
      );
    const t3 = await experiment('table3', { seeds: 1 });
    expect(t3.code, t3.err).toBe(0);
    const t4 = await experiment('table4');
    expect(t4.code, t4.err).toBe(0);
    const folder = join(dir, 'transfer');
    const table3 = JSON.parse(readFileSync(join(folder, 'table3.json'), 'utf8')) as {
      rows: { label: string; summary: { auroc: { mean: number } } }[];
    };
    const table4 = JSON.parse(readFileSync(join(folder, 'table4.json'), 'utf8')) as {
      rows: { label: string; meanAuroc: number }[];
      classes: string[];
    };
    expect(table3.rows.map((r) => r.label)).toHaveLength(3);
    expect((JSON.parse(t3.out) as { table3: { rows: unknown[] } }).table3.rows).toHaveLength(3);
    const page = readFileSync(join(folder, 'report.html'), 'utf8');
    for (const r of table3.rows) {
      expect(page).toContain(r.label);
      if (Number.isFinite(r.summary.auroc.mean)) expect(page).toContain(`${r.summary.auroc.mean.toFixed(3)}</td>`);
    }
    for (const r of table4.rows) {
      expect(page).toContain(`AUROC · ${r.label}`);
      if (Number.isFinite(r.meanAuroc)) expect(page).toContain(`${r.meanAuroc.toFixed(3)}</td>`);
    }
    for (const c of table4.classes) expect(page).toContain(`<td>${c}</td>`);
  });
});

describe('OOD refusal and calibrated probabilities of the trained quickstart model', () => {
  it('fits ood.json on the training films and temperature.json on validation; the model records both, the report shows them', async () => {
    const ood = JSON.parse(readFileSync(join(out, 'ood.json'), 'utf8')) as {
      threshold: number;
      statistics: { count: number; levels: string[] };
      thresholdFilms: number;
      fittedOn: string;
      thresholdOn: string;
    };
    const t = JSON.parse(readFileSync(join(out, 'temperature.json'), 'utf8')) as {
      spec: { tasks: Record<string, { temperature: number | Record<string, number> } | undefined> };
      val: Record<string, { before: { ece: number }; after: { ece: number } }>;
      test?: Record<string, unknown>;
    };
    // too few validation films here for a 2% rate: the out-of-fold scores of the training films join them
    expect(ood).toMatchObject({
      fittedOn: 'train',
      thresholdOn: 'val + out-of-fold train',
      statistics: { levels: ['c4', 'c5'] },
    });
    expect(ood.thresholdFilms).toBeGreaterThan(ood.statistics.count);
    expect(Object.keys(t.spec.tasks.cls!.temperature)).toHaveLength(14);
    expect(t.spec.tasks.det!.temperature).toBeGreaterThan(0);
    expect(t.spec.tasks.seg!.temperature).toBeGreaterThan(0);
    expect(Object.keys(t.test ?? {}).sort()).toEqual(['cls', 'det', 'seg']);
    // temperature scaling minimises the validation log-loss, so the validation ECE of each head cannot grow much
    for (const h of ['cls', 'det', 'seg'])
      expect(t.val[h]!.after.ece, h).toBeLessThanOrEqual(t.val[h]!.before.ece + 0.05);
    for (const f of ['model.onnx', 'model.stage1.onnx']) {
      const { metadata } = await verifyModelBytes(new Uint8Array(readFileSync(join(out, f))), f);
      expect(metadata.ood?.threshold, f).toBe(ood.threshold);
      expect(metadata.temperature?.tasks).toEqual(t.spec.tasks);
    }
    const page = readFileSync(join(out, 'report.html'), 'utf8');
    expect(page).toContain('Calibration and out-of-distribution refusal');
    expect(page).toContain('ECE test');
    expect(page).toContain(`<b>${ood.threshold.toFixed(3)}</b>`);
  });

  it('refuses generated non-chest images and passes held-out frontal films of its test split; predict --json says calibrated', async () => {
    const nonChest = await writeNonChestSet(join(dir, 'non-chest'), { perKind: 3, size: 128, seed: 21 });
    const recorded = JSON.parse(readFileSync(join(out, 'data.json'), 'utf8')) as {
      roots: Record<string, string>;
      split: never;
    };
    const data = await openTrainingData(recorded.roots, recorded.split);
    const held = Object.values(data).flatMap((d) => d!.test.entries.map((e) => join(d!.test.root, e.file)));
    const r = await cli(
      dir,
      'predict',
      '--model',
      'qs',
      '--ood',
      'flag',
      '--json',
      ...Object.values(nonChest).flat(),
      ...held,
    );
    expect(r.code, r.err).toBe(0);
    const res = JSON.parse(r.out) as {
      model: { calibration: { calibrated: boolean }; ood: { policy: string } };
      images: { file: string; ood: { outOfDistribution: boolean }; calibrated: boolean; refused?: boolean }[];
    };
    expect(res.model.calibration.calibrated).toBe(true);
    expect(res.model.ood.policy).toBe('flag');
    expect(res.images.every((i) => i.calibrated && i.refused === undefined)).toBe(true);
    const flagged = (files: string[]) =>
      res.images.filter((i) => files.includes(i.file) && i.ood.outOfDistribution).length;
    const outFiles = Object.values(nonChest).flat();
    expect(flagged(outFiles) / outFiles.length, 'non-chest refused').toBeGreaterThanOrEqual(NON_CHEST_FLOOR);
    expect(flagged(held) / held.length, 'held-out frontal films refused').toBeLessThanOrEqual(FRONTAL_CEILING);
  });

  it('refuses by default with one line naming the file and the score against the threshold', async () => {
    const files = await writeNonChestSet(join(dir, 'noise'), { perKind: 1, size: 128, seed: 3, kinds: ['noise'] });
    const r = await cli(dir, 'predict', '--model', 'qs', files.noise[0]!);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim()).toMatch(
      /noise-0\.png \[png 128x128\]: refused: not like the frontal chest X-rays the model was trained on \(OOD score [\d.]+ > threshold [\d.]+\)$/,
    );
    const j = JSON.parse((await cli(dir, 'predict', '--model', 'qs', '--json', files.noise[0]!)).out) as {
      images: { refused: boolean; probabilities: object; boxes: unknown[] }[];
    };
    expect(j.images[0]).toMatchObject({ refused: true, probabilities: {}, boxes: [] });
  });
});
