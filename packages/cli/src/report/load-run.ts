import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { DataError, RUN_FILES, runFolder, writeFileAtomic } from '@multichexnet/core';
import { UsageError } from '../cli-error';
import { version } from '../version';
import { renderReport } from './render-report';
import { PAPER_TABLE_FILES, paperTable } from './paper-tables';
import {
  runCalibrationOf,
  type Gallery,
  type MetricsRecord,
  type ReportData,
  type ResultTable,
  type TestEvaluation,
} from './report-data';
import { readRunOod, readRunTemperature } from '../run/fit-probability';
import { readOptionalJson } from '../io/read-json';

/** File names of a run folder: core's run-folder layout, re-exported where the CLI exported it before. */
export { RUN_FILES };

async function readJson<T>(file: string): Promise<T | null> {
  return ((await readOptionalJson(file)) ?? null) as T | null;
}

async function readMetrics(file: string): Promise<MetricsRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  const out: MetricsRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push(JSON.parse(line) as MetricsRecord);
    } catch {
      throw new DataError('metrics.jsonl line is not JSON', {
        file,
        row: i + 1,
        expected: 'one JSON object per line',
        found: line.slice(0, 60),
      });
    }
  });
  return out;
}

/** Files and bytes under a folder, recursively. */
async function folderSize(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const inner = await folderSize(p);
      files += inner.files;
      bytes += inner.bytes;
    } else {
      files++;
      bytes += (await stat(p)).size;
    }
  }
  return { files, bytes };
}

async function listFiles(dir: string, root = dir): Promise<{ name: string; bytes: number }[]> {
  const out: { name: string; bytes: number }[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      // weights/ file by file (a user may want one block); any other folder (checkpoints, gallery, data, the
      // variants of an experiment) as one line.
      if (e.name === RUN_FILES.weights && dir === root) {
        out.push(...(await listFiles(p, root)));
      } else {
        const size = await folderSize(p);
        out.push({ name: `${relative(root, p)}/ (${size.files} files)`, bytes: size.bytes });
      }
    } else if (!e.name.startsWith('.')) {
      out.push({ name: relative(root, p), bytes: (await stat(p)).size });
    }
  }
  return out;
}

/** Reads everything report.html shows from a run folder (missing parts are left out of the page). *
 * @example
 * const html = await renderReport(await loadReportData('runs/quickstart'));
 */
export async function loadReportData(runDir: string): Promise<ReportData> {
  try {
    if (!(await stat(runDir)).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new UsageError(`no such run folder: ${runDir}`);
  }
  const run = runFolder(runDir);
  const gallery = await readJson<Gallery>(run.galleryIndex);
  const galleryImages: Record<string, string> = {};
  for (const item of gallery?.items ?? []) {
    for (const f of [item.image, item.maskLayer, item.cam?.layer ?? null]) {
      if (f === null || f in galleryImages) continue;
      try {
        galleryImages[f] = (await readFile(join(run.gallery, f))).toString('base64');
      } catch {
        /* a missing picture leaves an empty frame rather than no report */
      }
    }
  }
  const tables: ResultTable[] = [];
  for (const id of PAPER_TABLE_FILES) {
    const json = await readJson<unknown>(join(runDir, `${id}.json`));
    if (json !== null) tables.push(paperTable(id, json));
  }
  return {
    runName: basename(runDir),
    runDir,
    plan: await readJson<Record<string, unknown>>(run.plan),
    metrics: await readMetrics(run.metrics),
    validation: await readJson<Record<string, unknown>>(run.validation),
    test: withCalibration(await readJson<TestEvaluation>(run.test)),
    gallery,
    galleryImages,
    tables,
    transfer: await readJson<Record<string, unknown>>(run.transfer),
    files: (await listFiles(runDir)).filter((f) => f.name !== RUN_FILES.report),
    generatedBy: `@multichexnet/cli ${version}`,
    temperature: (await readRunTemperature(runDir)) ?? null,
    ood: (await readRunOod(runDir)) ?? null,
  };
}

/**
 * (Re-)renders `report.html` of a run, experiment or fine-tuning folder from its files; returns the page's path.
 *
 * @example
 * const page = await writeReport('runs/quickstart');   // runs/quickstart/report.html
 */
export async function writeReport(runDir: string): Promise<{ path: string; bytes: number }> {
  const html = await renderReport(await loadReportData(runDir));
  const path = runFolder(runDir).report;
  await writeFileAtomic(path, html);
  return { path, bytes: Buffer.byteLength(html) };
}

/** A test evaluation with its calibration read in the current form (files before the task table named the heads). */
function withCalibration(t: TestEvaluation | null): TestEvaluation | null {
  if (t === null || t.calibration === undefined || t.calibration === null) return t;
  return { ...t, calibration: runCalibrationOf(t.calibration) };
}
