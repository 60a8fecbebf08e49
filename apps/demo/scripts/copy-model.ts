// `npm run demo:model [run-folder]`: copies a trained run's model.onnx (default runs/quickstart, written by
// `npm run quickstart`) into the app as its bundled model, verified, with its provenance next to it
// (public/model/provenance.json: run, command, dates, checksum, test metrics), which the page shows.
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyModelBytes } from '@multichexnet/runtime';

const appRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(appRoot, '..', '..');
const runDir = resolve(repoRoot, process.argv[2] ?? join('runs', 'quickstart'));
const source = join(runDir, 'model.onnx');
const target = join(appRoot, 'public', 'model', 'model.onnx');
/** Above this the model is still copied, but should not be committed (the repository keeps small files only). */
const COMMIT_LIMIT_BYTES = 8 * 1024 * 1024;

async function readJson(file: string): Promise<Record<string, unknown> | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

const info = await stat(source).catch(() => null);
if (info === null) {
  console.error(
    `No ${relative(repoRoot, source)} yet.\nTrain and export it first:  npm run quickstart\nthen bundle it:             npm run demo:model`,
  );
  process.exit(1);
}
const bytes = new Uint8Array(await readFile(source));
const { metadata, checksum } = await verifyModelBytes(bytes, source);
if (metadata.role !== 'model') {
  console.error(`${source} is a '${metadata.role}' graph; the bundled model is the single-graph model.onnx of a run.`);
  process.exit(1);
}

// Headline test metrics as the CLI's eval-test.json records them (multichexnet-eval format).
const evalTest = await readJson(join(runDir, 'eval-test.json'));
const m = (evalTest?.metrics ?? {}) as {
  cls?: { meanAuroc?: number };
  det?: { mAP?: number; ap50?: number };
  seg?: { dice?: number };
  gate?: { sensitivity?: number; specificity?: number };
};
const metrics: Record<string, number> = {};
const put = (name: string, v: number | undefined): void => {
  if (typeof v === 'number' && Number.isFinite(v)) metrics[name] = v;
};
put('CheXCls mean AUROC', m.cls?.meanAuroc);
put('CheXDet mAP', m.det?.mAP);
put('CheXDet AP@0.5', m.det?.ap50);
put('CheXSeg Dice', m.seg?.dice);
put('gate sensitivity', m.gate?.sensitivity);
put('gate specificity', m.gate?.specificity);
const plan = await readJson(join(runDir, 'plan.json'));
const table1 = await readJson(join(runDir, 'table1.json'));
const seed = typeof plan?.seed === 'number' ? plan.seed : 0;
// the command as `train` takes it: a built-in plan's recorded name `<plan>-<size>` is `<plan>:<size>` on the command
// line, the data root is the folder holding the run's nih/ rsna/ siim/ (its data.json), the run folder itself
const planName = typeof plan?.name === 'string' ? plan.name.replace(/-(tiny|small|full)$/, ':$1') : '<plan>';
const dataJson = await readJson(join(runDir, 'data.json'));
const roots = Object.values((dataJson?.roots ?? {}) as Record<string, string>).map((r) => dirname(r));
const dataRoot = roots.length > 0 && roots.every((r) => r === roots[0]) ? relative(repoRoot, roots[0]!) : null;

const provenance = {
  run: relative(repoRoot, runDir),
  // a quickstart folder holds its Table 1; any other run folder was trained by `train` on its plan
  command:
    table1 !== null
      ? `multichexnet quickstart${seed !== 0 ? ` --seed ${seed}` : ''}`
      : `multichexnet train ${planName}${dataRoot !== null ? ` --data ${dataRoot}` : ''} --run ${relative(repoRoot, runDir)} --seed ${seed}`,
  exportedAt: info.mtime.toISOString(),
  copiedAt: new Date().toISOString(),
  checksum,
  bytes: bytes.byteLength,
  metrics,
  notes: [
    `plan ${typeof plan?.name === 'string' ? plan.name : 'unknown'}, ${metadata.preprocessing?.size ?? '?'} px input; metrics on the synthetic ${typeof evalTest?.split === 'string' ? evalTest.split : 'test'} split${typeof evalTest?.gating === 'string' ? `, gating: ${evalTest.gating}` : ''}`,
    ...(typeof table1?.verdict === 'string' ? [`Table 1: ${table1.verdict}`] : []),
    'trained on synthetic chest films only, at the tiny preset: a demonstration of the system, not a diagnostic model',
    ...(metadata.ood !== null
      ? [
          `refuses images unlike its training films (OOD score > ${metadata.ood.threshold.toFixed(3)}, chosen on ${metadata.ood.thresholdOn} validation films): most real films`,
        ]
      : []),
    ...(metadata.temperature !== null
      ? [`probabilities calibrated (temperature scaling on ${metadata.temperature.split})`]
      : []),
  ],
};
await mkdir(dirname(target), { recursive: true });
await copyFile(source, target);
await writeFile(join(dirname(target), 'provenance.json'), `${JSON.stringify(provenance, null, 2)}\n`);
console.log(
  `bundled ${relative(repoRoot, source)} -> ${relative(repoRoot, target)} (${(bytes.byteLength / 1e6).toFixed(2)} MB, sha256 ${checksum.slice(0, 12)}…)`,
);
for (const [k, v] of Object.entries(metrics)) console.log(`  ${k.padEnd(20)} ${v.toFixed(3)}`);
if (bytes.byteLength > COMMIT_LIMIT_BYTES)
  console.warn(
    `note: ${(bytes.byteLength / 1e6).toFixed(1)} MB is over the 8 MB the repository keeps: do not commit it`,
  );
