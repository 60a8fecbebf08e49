// Which encoder sizes train in what time here: CheXEnc densenet-tiny, densenet-small and densenet121 (+ global
// pool + dense 14 + BCE, Adam) at 128, 224 and 256 px, one training step each, on the backend a plain install
// gets (wasm with MultiCheXNet's kernels, default threads; a fresh child process per size), and on
// @tensorflow/tfjs-node when it is installed (said plainly when it is not). Source of the core README's table.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { nativeBackend } from '../lib/native-backend.mjs';

export const name = 'encoder-presets';
export const description =
  'CheXEnc tiny / small / densenet121 train step at 128/224/256 px on wasm (and tfjs-node when installed)';
export const packages = ['core', 'core-encoder'];

const PRESETS = [
  ['densenet-tiny', 16],
  ['densenet-small', 16],
  ['densenet121', 8],
];
const SIZES = [128, 224, 256];

function child(ctx, args) {
  const r = spawnSync(
    process.execPath,
    [join(ctx.repoRoot, 'bench', 'lib', 'densenet-child.mjs'), ctx.repoRoot, ...args.map(String)],
    {
      encoding: 'utf8',
      env: { ...process.env, MULTICHEXNET_LOG: 'warn' },
    },
  );
  if (r.status !== 0) return { error: r.stderr.slice(-600) };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

export async function run(ctx) {
  const native = nativeBackend(ctx.repoRoot);
  const backends = native.available ? ['wasm', 'tensorflow'] : ['wasm'];
  const rows = [];
  for (const backend of backends) {
    for (const [preset, batch] of PRESETS) {
      for (const size of SIZES) {
        const steps = ctx.quick ? 1 : 3;
        const r = child(ctx, [size, batch, 1, steps, backend, preset]);
        rows.push({ preset, size, batch, ...r });
        ctx.log(
          `${backend} ${preset} ${batch}x${size}: ${r.medianMs?.toFixed(0) ?? r.error} ms/step, ${r.imagesPerSecond?.toFixed(1) ?? '-'} images/s, load ${r.loadBefore?.toFixed(1)}`,
        );
      }
    }
  }
  return { nativeBackend: native, rows, loadAvg1m: loadavg()[0] };
}
