// Child process of the training-sizes section: one training configuration in a fresh process, so that its peak RSS
// (process.resourceUsage().maxRSS) is its own. The step is the trainer's own `trainStep` (micro-batches included) on
// CheXEnc + CheXCls (global average pool + dense 14, masked BCE), Adam, one batch of random images whose 14 labels are
// all known. argv: <repoRoot> <config JSON: { preset, size, batch, memoryEfficient, accumulate, warmup, iterations }>.
// Prints one JSON line (wall and process CPU time per step: CPU time counts every thread and is less moved by other
// processes' load); a step that throws (e.g. the wasm heap overflow) is reported as { error }, not a crash.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median } from './time-steps.mjs';

const [repoRoot, configJson] = process.argv.slice(2);
const cfg = JSON.parse(configJson);
const load = (p) => import(pathToFileURL(join(repoRoot, 'packages', p, 'dist', 'index.js')).href);
const [core, data, modelPkg, trainer] = await Promise.all([load('core'), load('data'), load('model'), load('trainer')]);
const { tf } = core;
const info = await core.initBackend('wasm');

function randomBatch(rng, size, batch) {
  const classes = data.PATHOLOGIES;
  const images = Float32Array.from({ length: batch * size * size }, () => rng.normal());
  const labels = Float32Array.from({ length: batch * classes.length }, () => (rng.bernoulli(0.2) ? 1 : 0));
  const tasks = { cls: new Uint8Array(batch).fill(1), det: new Uint8Array(batch), seg: new Uint8Array(batch) };
  const none = Array.from({ length: batch }, () => []);
  return {
    size: batch,
    imageSize: size,
    images,
    labels,
    classes,
    boxes: none,
    masks: new Uint8Array(batch * size * size),
    tasks,
    ids: [],
    patientIds: [],
    sources: Array(batch).fill('nih'),
  };
}

const heapMB = () => {
  const buffer = tf.backend().wasm?.HEAPU8?.buffer;
  return buffer === undefined ? null : buffer.byteLength / 2 ** 20;
};

const result = { config: cfg, backend: { name: info.name, threads: info.threads } };
try {
  const model = modelPkg.buildModel(
    modelPkg.ModelConfigSchema.parse({
      encoder: { preset: cfg.preset, memoryEfficient: cfg.memoryEfficient === true },
      cls: {},
    }),
    1,
  );
  const phase = trainer.PhaseSchema.parse({
    name: 'bench',
    trainable: ['encoder', 'cls'],
    batches: [{ datasets: ['nih'], tasks: ['cls'] }],
    steps: 1,
    batchSize: cfg.batch,
    ...(cfg.accumulate > 1 ? { accumulate: cfg.accumulate } : {}),
  });
  const weighting = trainer.createLossWeighting({ type: 'equal' }, ['cls']);
  const ctx = {
    model,
    phase,
    recipe: phase.batches[0],
    step: 0,
    teacherForcing: null,
    weighting,
    optimizer: trainer.createOptimizer(phase.optimizer),
    variables: model.trainableVariables(),
    learningRate: 1e-4,
    gateClasses: ['Pneumonia', 'Pneumothorax'],
  };
  const rng = core.createRng(7);
  const batch = randomBatch(rng, cfg.size, cfg.batch);
  const wall = [];
  const cpu = [];
  let loss = Number.NaN;
  for (let i = 0; i < cfg.warmup + cfg.iterations; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const out = trainer.trainStep({ ...ctx, step: i }, batch);
    if (i >= cfg.warmup) {
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    loss = out.total;
    if (!out.applied) throw new Error(`step ${i} was not applied (loss ${out.total})`);
  }
  Object.assign(result, {
    stepMs: { median: median(wall), samples: wall },
    cpuMs: { median: median(cpu), samples: cpu },
    lastLoss: loss,
    params: model.encoder.countParams(),
  });
  ctx.optimizer.dispose();
  weighting.dispose();
  model.dispose();
} catch (err) {
  result.error = String(err?.message ?? err)
    .split('\n')
    .map((l) => l.trim())
    .join(' ')
    .slice(0, 400);
}
result.wasmHeapMB = heapMB();
result.peakRssMB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
