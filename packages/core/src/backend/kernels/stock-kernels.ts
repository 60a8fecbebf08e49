/**
 * The stock tfjs-backend-wasm kernels our registrations replace, kept so a replacement can hand the cases it does
 * not specialise back to the original (and so the original's setup runs when a new wasm backend is created).
 */
import { tf } from '../../tf';

const stock = new Map<string, tf.KernelConfig>();
const ours = new WeakSet<tf.KernelFunc>();

/** Marks a kernel function as ours (never captured as "stock"). */
export function markOurs(fn: tf.KernelFunc): void {
  ours.add(fn);
}

/** Remembers the currently registered wasm kernel `name` as stock, unless it is one of ours. */
export function captureStock(name: string): void {
  const existing = tf.getKernel(name, 'wasm');
  if (existing !== undefined && !ours.has(existing.kernelFunc)) stock.set(name, existing);
}

/** The stock kernel config for `name`, if tfjs-backend-wasm has one. */
export function stockKernel(name: string): tf.KernelConfig | undefined {
  return stock.get(name);
}

/** Runs the stock kernel `name` (for cases a replacement does not handle). */
export function runStock(name: string, args: Parameters<tf.KernelFunc>[0]): ReturnType<tf.KernelFunc> {
  const config = stock.get(name);
  if (config === undefined) throw new Error(`no stock wasm kernel ${name} to fall back to`);
  return config.kernelFunc(args);
}
