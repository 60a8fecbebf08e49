// The threaded-SIMD wasm backend in Node: thread count, our kernels on its shared heap, and processes that exit
// on their own (workers must never keep Node alive).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRng, initBackend, tf } from '../src/index';
import { memoryOf, type WasmBackend } from '../src/backend/kernels/wasm-backend';

const pkgRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsx = join(pkgRoot, '..', '..', 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** Runs a script (TypeScript via tsx) in a fresh Node process and returns its exit status, output and time. */
function runScript(source: string, env: Record<string, string> = {}, timeoutMs = 60_000) {
  const dir = mkdtempSync(join(tmpdir(), 'mcx-threads-'));
  const file = join(dir, 'script.mts');
  writeFileSync(file, source);
  const t0 = Date.now();
  try {
    const r = spawnSync(process.execPath, [tsx, file], {
      cwd: pkgRoot,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: timeoutMs,
    });
    return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SCRIPT = `
import { initBackend, tf } from '${join(pkgRoot, 'src', 'index.ts')}';
const info = await initBackend('wasm');
const x = tf.randomNormal([4, 16, 16, 8], 0, 1, 'float32', 1);
const f = tf.randomNormal([3, 3, 8, 8], 0, 1, 'float32', 2);
const g = tf.grad((w) => tf.sum(tf.conv2d(x, w, 1, 'same')))(f);
console.log(JSON.stringify({ threads: info.threads, shared: tf.backend().wasm.HEAPU8.buffer instanceof SharedArrayBuffer, sum: g.sum().dataSync()[0] }));
`;

describe('threaded wasm backend', () => {
  it('uses the requested threads and runs our kernels on the shared heap', async () => {
    const info = await initBackend('wasm', { threads: 2 });
    expect(info.name).toBe('wasm');
    expect(info.threads).toBe(Math.min(2, cpus().length));
    const memory = memoryOf(tf.backend() as WasmBackend);
    expect(memory).not.toBeNull();
    if (info.threads > 1) expect(memory!.buffer).toBeInstanceOf(SharedArrayBuffer);
    // A gradient through Conv2DBackpropFilter and the SIMD MaxPoolGrad, checked against cpu.
    const rng = createRng(3);
    const xv = Float32Array.from({ length: 2 * 8 * 8 * 4 }, () => rng.normal());
    const fv = Float32Array.from({ length: 3 * 3 * 4 * 6 }, () => rng.normal());
    const grads = () =>
      tf.tidy(() =>
        tf
          .grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.maxPool(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), 2, 2, 'valid')))([
            tf.tensor4d(xv, [2, 8, 8, 4]),
            tf.tensor4d(fv, [3, 3, 4, 6]),
          ])
          .map((t) => Array.from(t.dataSync())),
      );
    const got = grads();
    await tf.setBackend('cpu');
    const ref = grads();
    await tf.setBackend('wasm');
    for (let k = 0; k < 2; k++) {
      const scale = Math.max(...ref[k]!.map(Math.abs));
      const err = Math.max(...got[k]!.map((v, i) => Math.abs(v - ref[k]![i]!)));
      expect(err / scale).toBeLessThan(1e-4);
    }
  });

  it('lets a Node process exit on its own, with threads and with one thread', () => {
    for (const threads of ['2', '1']) {
      const r = runScript(SCRIPT, { MULTICHEXNET_WASM_THREADS: threads, MULTICHEXNET_LOG: 'warn' });
      expect(r.signal, r.stderr).toBeNull();
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { threads: number; shared: boolean; sum: number };
      expect(out.threads).toBe(Math.min(Number(threads), cpus().length));
      expect(out.shared).toBe(out.threads > 1);
      expect(Number.isFinite(out.sum)).toBe(true);
    }
  });
});
