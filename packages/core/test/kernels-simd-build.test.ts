// The committed SIMD binaries (src/backend/simd/kernels-wasm.generated.ts) must come from the current
// assembly/kernels.ts and compiler flags, and must only use the imported heap.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SIMD_KERNELS_PLAIN_WASM, SIMD_KERNELS_SHARED_WASM } from '../src/backend/simd/kernels-wasm.generated';

const pkgRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('SIMD kernel build', () => {
  it('is up to date with assembly/kernels.ts', () => {
    const r = spawnSync(process.execPath, [join(pkgRoot, 'scripts', 'build-simd.mjs'), '--check'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
  });

  it('imports env.memory (plain and shared) and has no memory, data or start of its own', () => {
    for (const [b64, shared] of [
      [SIMD_KERNELS_PLAIN_WASM, false],
      [SIMD_KERNELS_SHARED_WASM, true],
    ] as const) {
      const mod = new WebAssembly.Module(Buffer.from(b64, 'base64'));
      expect(WebAssembly.Module.imports(mod)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
      expect(WebAssembly.Module.exports(mod).every((e) => e.kind === 'function')).toBe(true);
      const memory = new WebAssembly.Memory(shared ? { initial: 1, maximum: 65536, shared: true } : { initial: 1 });
      const before = new Uint8Array(memory.buffer).slice();
      new WebAssembly.Instance(mod, { env: { memory } });
      expect(new Uint8Array(memory.buffer)).toEqual(before); // instantiation wrote nothing
    }
  });
});
