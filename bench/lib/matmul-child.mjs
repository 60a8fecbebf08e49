// Child of the densenet121 section: our GEMM's tf.matMul peak in a fresh process (argv: <repoRoot> <n>), so
// MULTICHEXNET_RELAXED_SIMD / MULTICHEXNET_WASM_THREADS from the parent apply. Prints one JSON line.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { matMulGflops } from './matmul-peak.mjs';

const [repoRoot, n] = process.argv.slice(2);
const core = await import(pathToFileURL(join(repoRoot, 'packages', 'core', 'dist', 'index.js')).href);
const info = await core.initBackend('wasm');
process.stdout.write(`${JSON.stringify({ threads: info.threads, ...matMulGflops(core, Number(n), '1') })}\n`);
process.exit(0);
