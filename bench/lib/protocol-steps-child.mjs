// Child process of the training-sizes section: seconds per optimizer step of every phase the quickstart trains
// (Table 1: the shared Algorithm 1 pre-training, joint and alternating MTL, BigBang, the three single-task
// baselines) at one plan size, measured through the trainer's own `train()` on a small synthetic set written at the
// plan's image size (data loading, augmentation, teacher forcing and the step itself, as in the real run).
// Each phase runs `steps` steps; the median of all but the first is its seconds (wall, and process CPU) per step.
// argv: <repoRoot> <plan size> <steps per phase>. Prints one JSON line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median } from './time-steps.mjs';

const [repoRoot, size, stepsArg] = process.argv.slice(2);
const steps = Number(stepsArg);
const load = (p) => import(pathToFileURL(join(repoRoot, 'packages', p, 'dist', 'index.js')).href);
const [core, synth, trainer] = await Promise.all([load('core'), load('synth'), load('trainer')]);
const info = await core.initBackend('wasm');
core.setLogLevel('warn');

// The runs of Table 1 as the experiment trains them (trainer's variantPlan): the pre-training once, the MTL phase of
// joint and alternating on top of it, BigBang and the single-task baselines from scratch.
const joint = trainer.parsePlan(trainer.builtinPlan('multichexnet-joint', { size, seed: 0 }));
const runs = [
  { run: 'pretrain', plan: joint, phases: joint.phases.filter((p) => p.stage === 'pretrain') },
  { run: 'multichexnet-joint', plan: joint, phases: joint.phases.filter((p) => p.stage !== 'pretrain') },
];
const alternating = trainer.parsePlan(trainer.builtinPlan('multichexnet-alternating', { size, seed: 0 }));
runs.push({
  run: 'multichexnet-alternating',
  plan: alternating,
  phases: alternating.phases.filter((p) => p.stage !== 'pretrain'),
});
for (const name of ['bigbang', 'single-cls', 'single-det', 'single-seg']) {
  const plan = trainer.parsePlan(trainer.builtinPlan(name, { size, seed: 0 }));
  runs.push({ run: name, plan, phases: plan.phases });
}

const root = mkdtempSync(join(tmpdir(), 'mcx-bench-protocol-'));
const out = {
  size,
  imageSize: joint.imageSize,
  encoder: joint.model.encoder,
  backend: { name: info.name, threads: info.threads },
  stepsPerPhase: steps,
  phases: [],
};
try {
  await synth.synthesize({
    out: join(root, 'data'),
    counts: { nih: 48, rsna: 48, siim: 48, covid: 0 },
    size: joint.imageSize,
    seed: 1,
  });
  const roots = { nih: join(root, 'data', 'nih'), rsna: join(root, 'data', 'rsna'), siim: join(root, 'data', 'siim') };
  const td = await trainer.openTrainingData(roots, { fractions: { train: 0.7, val: 0.1, test: 0.2 }, seed: 1 });
  for (const r of runs) {
    const short = r.phases.map((p) => ({
      ...p,
      steps,
      evalEvery: 0,
      checkpointEvery: 0,
      restoreBest: false,
      schedule: { type: 'constant' },
    }));
    const seconds = new Map();
    const cpuSeconds = new Map();
    const cpuNow = () => {
      const c = process.cpuUsage();
      return (c.user + c.system) / 1e6;
    };
    let cpuMark = 0;
    const result = await trainer.train(
      { ...r.plan, name: `bench-${r.run}`, phases: short },
      {
        runDir: join(root, r.run),
        data: td,
        onEvent: (e) => {
          if (e.type === 'phase-start') cpuMark = cpuNow();
          if (e.type !== 'step') return;
          const list = seconds.get(e.phase) ?? [];
          // imagesPerSecond = batch size / seconds of that step (batch fetch + step)
          list.push(r.phases.find((p) => p.name === e.phase).batchSize / e.imagesPerSecond);
          seconds.set(e.phase, list);
          // process CPU time since the previous step event (both wasm threads), less moved by other load
          const now = cpuNow();
          cpuSeconds.set(e.phase, [...(cpuSeconds.get(e.phase) ?? []), now - cpuMark]);
          cpuMark = now;
        },
      },
    );
    result.model.dispose();
    for (const p of r.phases) {
      const s = seconds.get(p.name);
      const c = cpuSeconds.get(p.name);
      out.phases.push({
        run: r.run,
        phase: p.name,
        steps: p.steps,
        batchSize: p.batchSize,
        trainable: p.trainable,
        secondsPerStep: median(s.slice(1)),
        cpuSecondsPerStep: median(c.slice(1)),
        samples: s,
        cpuSamples: c,
      });
    }
  }
} catch (err) {
  out.error = String(err?.message ?? err)
    .split('\n')[0]
    .slice(0, 300);
} finally {
  rmSync(root, { recursive: true, force: true });
}
out.peakRssMB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
