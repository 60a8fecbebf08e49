import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { RUN_FILES, runFolder, writeFileAtomic } from '@multichexnet/core';
import {
  PRETRAINED_LAYOUTS,
  importCheckpoint,
  resolvePretrained,
  type ImportedModel,
  type PretrainedLayout,
} from '@multichexnet/pretrained';
import { clsTask } from '@multichexnet/head-cls';
import { createMultiCheXNet } from '@multichexnet/model';
import { parsePlan } from '@multichexnet/trainer';
import { UsageError } from '../cli-error';
import type { CommandContext } from '../context';
import { writeReport } from '../report/load-run';
import type { RunCalibration } from '../report/report-data';
import { exportRunModel } from '../run/export-model';
import { startBackend } from '../run/run-folder';
import { routeLibraryLogs } from './prepare';
import { fitOodOnFilms } from '../run/fit-ood-films';
import { DEFAULT_OOD_TARGET, writeRunOod, type RunOod } from '../run/fit-probability';

/** Options of `multichexnet import`. */
export interface ImportCliOptions {
  out: string;
  inputChannels: string;
  classes?: string;
  repoFile: string;
  revision: string;
  sha256?: string;
  export: boolean;
  /** Frontal chest films (files / folders) to fit the OOD refusal on (run/fit-ood-films.ts). */
  oodFilms?: string[];
  oodTarget?: number;
}

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

/** The checkpoint's bytes and its name: a local file, else a URL or a repo id through the download cache. */
async function checkpointBytes(
  ctx: CommandContext,
  file: string,
  o: ImportCliOptions,
): Promise<{ bytes: Uint8Array; name: string }> {
  const local = ctx.path(file);
  if (await exists(local)) return { bytes: new Uint8Array(await readFile(local)), name: file };
  if (!/^https?:\/\//.test(file) && !/^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/.test(file))
    throw new UsageError(`no such file: ${local}`);
  let task: ReturnType<CommandContext['reporter']['task']> | null = null;
  const cached = await resolvePretrained(file, {
    file: o.repoFile,
    revision: o.revision,
    ...(o.sha256 !== undefined ? { sha256: o.sha256 } : {}),
    onProgress: (p) => {
      task ??= ctx.reporter.task(`download ${file}`, p.total ?? 0, 'bytes');
      task.update(p.received);
    },
  });
  (task as ReturnType<CommandContext['reporter']['task']> | null)?.finish(cached.path);
  if (cached.fromCache) ctx.reporter.info(`${file}: cached at ${cached.path}`);
  return { bytes: new Uint8Array(await readFile(cached.path)), name: cached.url };
}

/** A plan name from the run folder's name (plan names allow letters, digits, `.`, `_`, `-`). */
function planName(out: string, layout: string): string {
  const b = basename(out)
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '');
  return b.length > 0 ? b : `import-${layout}`;
}

/**
 * The `import` verb: checkpoint -> CheXEnc + CheXCls -> a complete run folder, written to a temporary sibling
 * folder and renamed into place at the end, so a failed import leaves nothing at `--out`.
 */
export async function importAction(
  ctx: CommandContext,
  layout: string,
  file: string,
  o: ImportCliOptions,
): Promise<void> {
  routeLibraryLogs(ctx);
  if (!(PRETRAINED_LAYOUTS as readonly string[]).includes(layout))
    throw new UsageError(`layout must be one of ${PRETRAINED_LAYOUTS.join(', ')}; got "${layout}"`);
  if (o.inputChannels !== '1' && o.inputChannels !== '3')
    throw new UsageError(`--input-channels must be 1 or 3; got "${o.inputChannels}"`);
  const out = ctx.path(o.out);
  if (await exists(out)) throw new UsageError(`${out} already exists: import into a new run folder`);
  await startBackend(ctx, 'auto');
  const { bytes, name } = await checkpointBytes(ctx, file, o);
  const imported: ImportedModel = await importCheckpoint(bytes, {
    layout: layout as PretrainedLayout,
    file: name,
    inputChannels: Number(o.inputChannels) as 1 | 3,
    ...(o.classes !== undefined ? { classes: o.classes.split(',').map((c) => c.trim()) } : {}),
  });
  const model = createMultiCheXNet({ encoder: imported.encoder, heads: { cls: imported.cls } });
  const tmp = join(dirname(out), `.${basename(out)}.import-${process.pid}`);
  try {
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    const { size, augment: _augment, ...preprocess } = imported.preprocess;
    const { featureChannels: _fc, ...clsConfig } = imported.cls.config;
    const p = imported.provenance;
    const plan = parsePlan({
      name: planName(out, layout),
      description: `${p.layout} checkpoint ${p.file} imported (sha256 ${p.sha256.slice(0, 12)}); ${p.preprocessNote}. No phases: start a plan from it with "init".`,
      imageSize: size,
      preprocess,
      model: { encoder: imported.encoder.config, cls: clsConfig },
      phases: [],
      pretrained: { ...p },
    });
    await writeFileAtomic(join(tmp, RUN_FILES.plan), `${JSON.stringify(plan, null, 2)}\n`);
    await model.save(runFolder(tmp).weights);
    const calibration: RunCalibration = {
      chosenOn: 'source',
      gating: 'none',
      tasks: imported.thresholds !== null ? { [clsTask.name]: { thresholds: imported.thresholds } } : {},
    };
    await writeFileAtomic(join(tmp, RUN_FILES.calibration), `${JSON.stringify(calibration, null, 2)}\n`);
    // OOD refusal fitted on the user's films, when given (no training splits to fit it on)
    let ood: RunOod | null = null;
    if (o.oodFilms !== undefined && o.oodFilms.length > 0) {
      ood = await fitOodOnFilms(
        model,
        { ...preprocess, size },
        o.oodFilms.map((f) => ctx.path(f)),
        o.oodTarget ?? DEFAULT_OOD_TARGET,
        ctx.reporter,
      );
      await writeRunOod(tmp, ood);
    }
    const exported = o.export
      ? await exportRunModel(model, { name: plan.name, imageSize: size, preprocess }, tmp, ctx.reporter, calibration, {
          ood,
        })
      : null;
    await writeReport(tmp);
    await rename(tmp, out);
    const classes = imported.cls.config.classes;
    ctx.emit(
      {
        run: out,
        layout,
        file: name,
        sha256: p.sha256,
        classes,
        thresholds: imported.thresholds,
        classifier: p.classifier,
        inputChannels: p.inputChannels,
        folded: p.folded,
        preprocess: imported.preprocess,
        exported: exported !== null,
        ood:
          ood === null
            ? null
            : { threshold: ood.threshold, fittedOn: ood.statistics.count, thresholdOn: ood.thresholdFilms },
      },
      [
        `imported ${layout} checkpoint ${name} (sha256 ${p.sha256.slice(0, 16)}...) -> ${out}`,
        `  CheXEnc densenet121 (${p.inputChannels} input channel${p.inputChannels === 1 ? '' : 's'}${p.folded ? ', RGB stem folded to grey' : ''}) + CheXCls ${p.classifier === 'imported' ? `with its ${classes.length} classes` : `(new, untrained: the checkpoint has no chest X-ray classifier)`}`,
        `  preprocessing: ${p.preprocessNote}`,
        ...(imported.thresholds !== null
          ? [`  per-class thresholds from the checkpoint: ${Object.keys(imported.thresholds).length}`]
          : []),
        ood !== null
          ? `  OOD refusal: fitted on ${ood.statistics.count} films, threshold ${ood.threshold.toFixed(3)} on ${ood.thresholdFilms} held-out films`
          : '  OOD refusal: none (fit it with --ood-films <frontal chest films>)',
        `next: multichexnet predict --model ${o.out} <films>   |   a plan with "init": "${o.out}" trains det / seg / gate on top (Algorithm 1 from stage 2)`,
      ],
    );
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    model.dispose();
  }
}
