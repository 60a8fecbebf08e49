import { writeFileAtomic } from '@multichexnet/core';

/**
 * Writes exported ONNX bytes to `path` atomically (temporary file, fsync, rename), creating folders as needed,
 * so a crash never leaves a half-written model behind. Node only.
 *
 * @example
 * await writeOnnxFile('runs/exp1/model.onnx', await exportOnnx(model));
 */
export async function writeOnnxFile(path: string, bytes: Uint8Array): Promise<void> {
  await writeFileAtomic(path, bytes);
}
