// Whether @tensorflow/tfjs-node (the native TensorFlow binding) can be imported here. It is never a dependency of
// the project (its install downloads libtensorflow from storage.googleapis.com); sections report it when a user
// machine has it and say so plainly when it is absent.
import { spawnSync } from 'node:child_process';

/** { available: true, version } or { available: false, reason }. Checked in a child, so nothing loads here. */
export function nativeBackend(repoRoot) {
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "const m = await import('@tensorflow/tfjs-node'); console.log(JSON.stringify({ version: m.version?.['tfjs-node'] ?? null }));",
    ],
    {
      cwd: repoRoot,
      encoding: 'utf8',
    },
  );
  if (r.status === 0) return { available: true, ...JSON.parse(r.stdout.trim().split('\n').pop()) };
  return {
    available: false,
    reason:
      '@tensorflow/tfjs-node is not installed: its install script downloads libtensorflow from storage.googleapis.com, which this machine cannot reach (npm registry only); the wasm backend was measured instead',
  };
}
