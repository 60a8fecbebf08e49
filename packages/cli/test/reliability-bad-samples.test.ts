import { appendFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, flags, lines } from './helpers';
import { clsPhase, tinyPlan } from './plans';
import { synthesize } from './reliability-helpers';

/*
 * `--on-bad-sample` through the real CLI. A synthetic NIH set gets damaged the ways real downloads are: a PNG cut
 * short, a file that is not an image at all under a .png name, and a label row whose finding is not one of the 14
 * classes. Under the default policy `train` stops at the first one with one line naming the file (exit 1); with
 * `--on-bad-sample skip` it completes, and the summary, eval-test.json and report.html carry the exact count of
 * samples left out (every image is met: the steps cover the train split, evaluation the rest); eval.json, written
 * when training ends, the exact count met by then.
 */
let dir: string;
const BAD_IMAGES = ['truncated', 'not-an-image'] as const;
let damaged: Record<(typeof BAD_IMAGES)[number], string>;
const BAD_ROW_ID = '00009999_000.png';
const EXPECTED_SKIPPED = BAD_IMAGES.length + 1;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcx-cli-bad-'));
  const data = await synthesize(dir, 'data', { nih: 24, rsna: 0, siim: 0 }, 11);
  const images = join(data, 'nih', 'images');
  const names = readdirSync(images).sort();
  damaged = { truncated: names[3]!, 'not-an-image': names[17]! };
  const png = readFileSync(join(images, damaged.truncated));
  writeFileSync(join(images, damaged.truncated), png.subarray(0, Math.floor(png.length / 3)));
  writeFileSync(join(images, damaged['not-an-image']), '<html><body>502 Bad Gateway</body></html>\n');
  // A row whose label is no ChestX-ray14 class (its image exists, so only the row itself is wrong).
  writeFileSync(join(images, BAD_ROW_ID), png);
  appendFileSync(
    join(data, 'nih', 'Data_Entry_2017.csv'),
    `${BAD_ROW_ID},Dragon_Scale,0,9999,40,M,PA,2500,2048,0.14,0.14,\n`,
  );
  // 12 steps of 4 draw 48 samples: more than the train split, so every bad train image is met.
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(tinyPlan('bad-samples', 3, [clsPhase('cls', 12)])));
}, 120_000);

/** `train plan.json` on `<cwd>/data` into `run`, with more flags. */
const trainIn = (cwd: string, run: string, extra: Readonly<Record<string, string | true>>) =>
  cli(cwd, 'train', 'plan.json', ...flags({ data: 'data', run, ...extra }));

describe('train --on-bad-sample', () => {
  it('fail (the default): exit 1, one line naming the bad file or row', async () => {
    const r = await trainIn(dir, 'runs/fail', { noExport: true, noReport: true });
    expect(r.code).toBe(1);
    const errors = lines(r.err).filter((l) => l.startsWith('multichexnet: error:'));
    expect(errors).toHaveLength(1);
    // Label rows are read when the data is opened, before any image: the row is what stops it.
    expect(errors[0]).toMatch(/Data_Entry_2017\.csv/);
    expect(errors[0]).toMatch(/Dragon_Scale/);
  });

  it('fail on a bad image alone names the image file', async () => {
    const d2 = mkdtempSync(join(tmpdir(), 'mcx-cli-bad-img-'));
    const data = await synthesize(d2, 'data', { nih: 24, rsna: 0, siim: 0 }, 11);
    const name = readdirSync(join(data, 'nih', 'images')).sort()[3]!;
    const file = join(data, 'nih', 'images', name);
    writeFileSync(file, readFileSync(file).subarray(0, 200));
    writeFileSync(join(d2, 'plan.json'), readFileSync(join(dir, 'plan.json')));
    const r = await trainIn(d2, 'runs/fail', { noExport: true, noReport: true });
    expect(r.code).toBe(1);
    const errors = lines(r.err).filter((l) => l.startsWith('multichexnet: error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(name);
  });

  it('skip: completes and reports the exact skipped count in the summary, eval.json, eval-test.json and report.html', async () => {
    const r = await trainIn(dir, 'runs/skip', { onBadSample: 'skip', json: true });
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out) as {
      status: string;
      data: { onBadSample: string; skipped: Record<string, number>; totalSkipped: number };
    };
    expect(summary.status).toBe('completed');
    expect(summary.data).toMatchObject({
      onBadSample: 'skip',
      skipped: { nih: EXPECTED_SKIPPED },
      totalSkipped: EXPECTED_SKIPPED,
    });
    const run = join(dir, 'runs', 'skip');
    const health = (f: string): typeof summary.data =>
      (JSON.parse(readFileSync(join(run, f), 'utf8')) as { data: typeof summary.data }).data;
    expect(health('eval-test.json')).toEqual(summary.data);
    // eval.json is written when training ends: it counts what training and validation met (the bad row and the
    // bad images of the train and val splits, warned before the export starts); a bad test image is met later.
    const beforeExport = r.err.slice(0, r.err.indexOf('\nexport:'));
    const metInTraining = 1 + Object.values(damaged).filter((name) => beforeExport.includes(name)).length;
    expect(metInTraining).toBeLessThanOrEqual(EXPECTED_SKIPPED);
    expect(health('eval.json')).toMatchObject({
      onBadSample: 'skip',
      skipped: { nih: metInTraining },
      totalSkipped: metInTraining,
    });
    expect((JSON.parse(readFileSync(join(run, 'data.json'), 'utf8')) as { onBadSample: string }).onBadSample).toBe(
      'skip',
    );
    const page = readFileSync(join(run, 'report.html'), 'utf8');
    expect(page).toContain(`Skipped samples: ${EXPECTED_SKIPPED}</span> nih ${EXPECTED_SKIPPED}`);
    // Each bad image was named in a warning, once.
    for (const name of Object.values(damaged)) expect(r.err.split(name).length - 1, name).toBe(1);
  });
});
