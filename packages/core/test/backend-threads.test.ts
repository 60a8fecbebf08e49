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
import { simdThreads } from '../src/backend/kernels/kernel-context';
import { relErr } from './helpers/numeric';

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
          .grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.maxPool(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), 2, 2, 'valid')),
          )([tf.tensor4d(xv, [2, 8, 8, 4]), tf.tensor4d(fv, [3, 3, 4, 6])])
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

  it('splits the SIMD kernels over helper threads, with the results of the cpu backend', async () => {
    const info = await initBackend('wasm', { threads: 2 });
    const threads = simdThreads(tf.backend() as WasmBackend);
    expect(threads).toBe(info.threads);
    const rng = createRng(9);
    const rand = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    // Sizes above the split thresholds, so every kernel below runs in two parts when there are two threads.
    const x1 = rand(8 * 64 * 64);
    const w1 = rand(9 * 16);
    const x16 = rand(8 * 32 * 32 * 16);
    const w16 = rand(9 * 16 * 8);
    const g = rand(16);
    const b = rand(16);
    const run = () =>
      tf.tidy(() => {
        const a = tf.tensor4d(x1, [8, 64, 64, 1]);
        const k = tf.tensor4d(w1, [3, 3, 1, 16]);
        const c = tf.tensor4d(x16, [8, 32, 32, 16]);
        const k2 = tf.tensor4d(w16, [3, 3, 16, 8]);
        const gamma = tf.tensor1d(g);
        const beta = tf.tensor1d(b);
        const f = (inp: tf.Tensor, w1t: tf.Tensor, inp2: tf.Tensor, w2t: tf.Tensor, gt: tf.Tensor, bt: tf.Tensor) => {
          const h = tf.conv2d(inp as tf.Tensor4D, w1t as tf.Tensor4D, 1, 'same'); // 1-channel direct kernels
          const p = tf.maxPool(h, 2, 2, 'valid'); // [8, 32, 32, 16]
          const n = tf.add(tf.mul(p, gt), bt);
          const q = tf.avgPool(tf.add(n, inp2) as tf.Tensor4D, 2, 2, 'valid');
          const u = tf.image.resizeBilinear(q, [32, 32]);
          return tf.sum(tf.mul(tf.conv2d(u, w2t as tf.Tensor4D, 1, 'same'), 0.01)); // im2col GEMM backprop filter
        };
        return tf
          .grads(f)([a, k, c, k2, gamma, beta])
          .map((t) => Array.from(t.dataSync()));
      });
    const got = run();
    await tf.setBackend('cpu');
    const ref = run();
    await tf.setBackend('wasm');
    for (let i = 0; i < got.length; i++) expect(relErr(got[i]!, ref[i]!), `gradient ${i}`).toBeLessThan(1e-4);
  });

  it('splits the BatchNorm layer kernels over helper threads', async () => {
    const { batchNormTraining } = await import('../src/index');
    await initBackend('wasm', { threads: 2 });
    const rng = createRng(10);
    const xv = Float32Array.from({ length: 8 * 32 * 32 * 16 }, () => rng.normal(1, 2));
    const rv = Float32Array.from({ length: xv.length }, () => rng.normal());
    const run = () =>
      tf.tidy(() => {
        const gamma = tf.tensor1d(Array.from({ length: 16 }, (_, i) => 1 + i / 10));
        const beta = tf.tensor1d(Array.from({ length: 16 }, (_, i) => i / 20 - 0.3));
        const r = tf.tensor(rv, [8, 32, 32, 16]);
        const grads = tf.grads((x: tf.Tensor, gm: tf.Tensor, bt: tf.Tensor) => {
          const { y, mean, variance } = batchNormTraining(x, gm as tf.Tensor1D, bt as tf.Tensor1D, 1e-3, true);
          mean.dispose();
          variance.dispose();
          return tf.sum(tf.mul(y, r));
        })([tf.tensor(xv, [8, 32, 32, 16]), gamma, beta]);
        return grads.map((t) => Array.from(t.dataSync()));
      });
    const got = run();
    await tf.setBackend('cpu');
    const ref = run();
    await tf.setBackend('wasm');
    for (let i = 0; i < 3; i++) expect(relErr(got[i]!, ref[i]!), `gradient ${i}`).toBeLessThan(1e-4);
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
