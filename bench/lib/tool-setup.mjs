// What the developer tools in bench/tools share: the repository root, their --name value flags, the built
// packages (dist/, as a user would load them) and per-kernel timing of the wasm backend.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `opt(name, def)`: the value after `--name`, else `def`; `has(flag)`: whether `--flag` was given. */
export function toolArgs(args = process.argv.slice(2)) {
  return {
    opt(name, def) {
      const i = args.indexOf(`--${name}`);
      return i >= 0 ? args[i + 1] : def;
    },
    has: (flag) => args.includes(`--${flag}`),
  };
}

/** A workspace package's built entry (`npm run build` first). */
export const importBuilt = (pkg) => import(pathToFileURL(join(repoRoot, 'packages', pkg, 'dist', 'index.js')).href);

/**
 * Re-registers every wasm kernel with a timer around it and returns the running totals (key -> { ms, calls, bytes }).
 * Nested kernel calls (our kernels call Transpose and Conv2D internally) count once, at the outermost level.
 * `bytes` adds up the sizes of each call's inputs and outputs (what a memory-bound kernel moves at least once).
 * `clock` gives milliseconds (wall time by default); `keyOf(kernel, args)` groups the calls (by name by default).
 */
export function timeKernels(tf, { clock = () => performance.now(), keyOf = (k) => k.kernelName } = {}) {
  const totals = new Map();
  let depth = 0;
  for (const k of tf.getKernelsForBackend('wasm')) {
    const inner = k.kernelFunc;
    const wrapped = (a) => {
      if (depth > 0) return inner(a);
      depth++;
      const t0 = clock();
      let out;
      try {
        out = inner(a);
        return out;
      } finally {
        depth--;
        const key = keyOf(k, a);
        const e = totals.get(key) ?? { ms: 0, calls: 0, bytes: 0 };
        e.ms += clock() - t0;
        e.calls++;
        const infos = [...Object.values(a.inputs ?? {}), ...(Array.isArray(out) ? out : out ? [out] : [])].filter(
          (t) => t?.shape,
        );
        e.bytes += infos.reduce((sum, t) => sum + t.shape.reduce((p, d) => p * d, 1) * (t.dtype === 'bool' ? 1 : 4), 0);
        totals.set(key, e);
      }
    };
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({ ...k, kernelFunc: wrapped });
  }
  return totals;
}

/**
 * Rows [key, ms per step, calls per step, bytes per step] of kernel totals over `steps` steps, slowest first, and their
 * sum.
 */
export function kernelRows(totals, steps) {
  const rows = [...totals.entries()]
    .map(([k, v]) => [k, v.ms / steps, v.calls / steps, v.bytes / steps])
    .sort((a, b) => b[1] - a[1]);
  return { rows, kernelMs: rows.reduce((a, r) => a + r[1], 0) };
}
