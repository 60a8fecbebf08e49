// Child of the densenet121 section: tf.matMul peak in a fresh process (argv: <repoRoot> <n> <gemm 1|0>), so
// MULTICHEXNET_RELAXED_SIMD / MULTICHEXNET_WASM_THREADS from the parent apply. Prints one JSON line.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { matMulGflops } from './matmul-peak.mjs';

const [repoRoot, n, gemm] = process.argv.slice(2);
const core = await import(pathToFileURL(join(repoRoot, 'packages', 'core', 'dist', 'index.js')).href);
const info = await core.initBackend('wasm');
process.stdout.write(
  `${JSON.stringify({ threads: info.threads, relaxedSimd: info.relaxedSimd, ...matMulGflops(core, Number(n), gemm, gemm === '1' ? 3 : 1) })}\n`,
);
process.exit(0);
