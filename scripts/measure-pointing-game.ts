// `npm run pointing:measure -- --run runs/quickstart [--seed 1] [--films 40] [--out results/pointing-game-quickstart.json]
//    [--trained-by "the command that trained the run"]`
//
// The pointing game of a trained run's class activation maps (`multichexnet pointing-game`'s evaluation, seeded
// synthetic films with one painted lesion each), checked against the stated floor (POINTING_GAME_FLOOR in
// packages/cli/src/run/pointing-game.ts) with the run's per-class test AUROC from its eval-test.json, written as one
// JSON artifact with the command, commit, machine and date that produced it.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runFolder } from '@multichexnet/core';
import { checkPointingGameFloor, evaluatePointingGame } from '../packages/cli/src/run/pointing-game';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// node's own argument parser: an unknown or misspelt flag is an error, not silently ignored
const { values: opt } = parseArgs({
  options: {
    run: { type: 'string', default: 'runs/quickstart' },
    out: { type: 'string', default: 'results/pointing-game-quickstart.json' },
    seed: { type: 'string', default: '1' },
    films: { type: 'string', default: '40' },
    'trained-by': { type: 'string', default: '' },
  },
});
const runDir = resolve(root, opt.run);
const outFile = resolve(root, opt.out);
const seed = Number(opt.seed);
const films = Number(opt.films);
const trainedBy = opt['trained-by'];

const files = runFolder(runDir);
for (const f of [files.test, files.plan]) {
  if (!existsSync(f)) {
    console.error(`${f} is missing: the run must be trained, exported and evaluated on test (npm run quickstart)`);
    process.exit(1);
  }
}
const evalTest = JSON.parse(await readFile(files.test, 'utf8')) as {
  metrics?: { cls?: { perClassAuroc?: Record<string, number> } };
};
const perClassAuroc = evalTest.metrics?.cls?.perClassAuroc;
if (perClassAuroc === undefined) {
  console.error(`${files.test} has no metrics.cls.perClassAuroc: the run has no CheXCls evaluated on test`);
  process.exit(1);
}
const plan = JSON.parse(await readFile(files.plan, 'utf8')) as { name: string; seed: number; imageSize: number };
const loadStart = os.loadavg()[0]!;
const report = await evaluatePointingGame(runDir, { films, seed });
const verdict = checkPointingGameFloor(report, perClassAuroc);
const git = (...a: string[]): string => execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim();
const artifact = {
  format: 'multichexnet-pointing-game-artifact',
  command: `npm run pointing:measure -- ${process.argv
    .slice(2)
    .map((a) => (/\s/.test(a) ? JSON.stringify(a) : a))
    .join(' ')}`.trim(),
  model: {
    run: relative(root, runDir),
    plan: plan.name,
    seed: plan.seed,
    imageSize: plan.imageSize,
    ...(trainedBy !== '' ? { trainedBy } : {}),
  },
  commit: git('rev-parse', 'HEAD'),
  dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
  machine: { cpus: os.cpus().length, node: process.version, loadAverage1m: [loadStart, os.loadavg()[0]!] },
  date: new Date().toISOString(),
  perClassAuroc,
  floor: verdict,
  result: report,
};
await mkdir(dirname(outFile), { recursive: true });
await writeFile(outFile, `${JSON.stringify(artifact, null, 2)}\n`);
const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
for (const [c, r] of Object.entries(report.classes))
  console.log(
    `${c.padEnd(20)} on the lesion ${pct(r.accuracy)} (chance ${pct(r.chance)}), within ${report.settings.tolerance} px ${pct(r.tolerantAccuracy)} (chance ${pct(r.tolerantChance)})`,
  );
console.log(
  `overall: within half a cell ${verdict.overall.tolerantHits}/${verdict.overall.trials} (chance ${pct(verdict.overall.tolerantChance)}), p = ${verdict.overall.pValue.toExponential(2)}`,
);
for (const d of verdict.detected)
  console.log(
    `detected ${d.className} (AUROC ${d.auroc.toFixed(3)}): ${pct(d.tolerantAccuracy)} vs chance ${pct(d.tolerantChance)} -> ${d.holds ? 'holds' : 'fails'}`,
  );
console.log(`floor ${verdict.holds ? 'HOLDS' : 'DOES NOT HOLD'}; written to ${relative(root, outFile)}`);
