// DenseNet-121 inference at 224 px (what `multichexnet import` produces: CheXEnc densenet121 with a grey stem + CheXCls
// 14), batch 1 and 16: onnxruntime-node (2 intra-op threads, the exported model) against the same network in PyTorch
// CPU (2 threads, bench/reference/densenet121_inference_torch.py), in one run, rounds interleaved (ort, torch, ort,
// torch, ...) so load from other processes falls on both alike. Goal: onnxruntime at least as fast as PyTorch. Weights
// are the seeded initialisation: speed does not depend on their values.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export const name = 'densenet121-inference';
export const description =
  'DenseNet-121 at 224 px, batch 1 and 16: onnxruntime-node vs PyTorch CPU, 2 threads each, interleaved';
export const packages = ['core', 'core-encoder', 'head-cls', 'model', 'data', 'runtime', 'export'];

const THREADS = 2;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

/** The PyTorch twin as a child process answering one timed forward pass per line. */
async function torchTwin(python, repoRoot) {
  const child = spawn(
    python,
    [join(repoRoot, 'bench', 'reference', 'densenet121_inference_torch.py'), String(THREADS)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const ready = (await lines.next()).value;
  return {
    ready,
    async run(batch) {
      child.stdin.write(`${batch}\n`);
      return Number((await lines.next()).value);
    },
    close: () => child.stdin.end(),
  };
}

export async function run(ctx) {
  if (!ctx.torchAvailable)
    return { skipped: `${ctx.python} cannot import torch (apt-get install python3-torch python3-torchvision)` };
  const load1mAtStart = loadavg()[0];
  const core = await ctx.importPackage('core');
  const { createEncoder } = await ctx.importPackage('core-encoder');
  const { createClsHead } = await ctx.importPackage('head-cls');
  const { createMultiCheXNet } = await ctx.importPackage('model');
  const ex = await ctx.importPackage('export');
  await core.initBackend('cpu');
  const encoder = createEncoder({ preset: 'densenet121', seed: 0 });
  const cls = createClsHead({
    classes: [...core.CHESTXRAY14_CLASSES],
    featureChannels: encoder.featureChannels,
    seed: 0,
  });
  const bytes = await ex.exportModel(createMultiCheXNet({ encoder, heads: { cls } }), { preprocessing: { size: 224 } });
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const twin = await torchTwin(ctx.python, ctx.repoRoot);
  const rounds = ctx.quick ? 2 : 5;
  const out = { threads: THREADS, imageSize: 224, torch: twin.ready, onnxBytes: bytes.byteLength, rounds };
  try {
    for (const batch of [1, 16]) {
      const data = new Float32Array(batch * 224 * 224).map((_, i) => Math.sin(i * 0.37));
      const feeds = { image: new ort.Tensor('float32', data, [batch, 224, 224, 1]) };
      const ortRun = async () => {
        const t0 = performance.now();
        await session.run(feeds);
        return performance.now() - t0;
      };
      await ortRun();
      await twin.run(batch); // warm-up of both
      const ortMs = [];
      const torchMs = [];
      for (let r = 0; r < rounds; r++) {
        ortMs.push(await ortRun());
        torchMs.push(await twin.run(batch));
      }
      const o = median(ortMs);
      const t = median(torchMs);
      out[`batch${batch}`] = {
        onnxruntimeMs: o,
        torchMs: t,
        torchOverOnnxruntime: t / o,
        onnxruntimeImagesPerSecond: (1000 * batch) / o,
        torchImagesPerSecond: (1000 * batch) / t,
        samples: { onnxruntime: ortMs, torch: torchMs },
      };
      ctx.log(
        `batch ${batch}: onnxruntime ${o.toFixed(0)} ms, torch ${t.toFixed(0)} ms (torch / ort = ${(t / o).toFixed(2)})`,
      );
    }
  } finally {
    twin.close();
    await session.release();
    encoder.dispose();
    cls.dispose();
  }
  out.goal = 'onnxruntime at least as fast as PyTorch (torchOverOnnxruntime >= 1) at batch 1 and 16';
  out.met = out.batch1.torchOverOnnxruntime >= 1 && out.batch16.torchOverOnnxruntime >= 1;
  out.load1m = { start: load1mAtStart, end: loadavg()[0] };
  return out;
}
