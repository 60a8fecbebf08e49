import { tf } from '../../src/index';

type Engine = { runKernel: (name: string, ...rest: unknown[]) => unknown };

function spy(): { seen: Set<string>; restore(): void } {
  const engine = tf.engine() as unknown as Engine;
  const raw = engine.runKernel;
  const seen = new Set<string>();
  engine.runKernel = function (this: unknown, name: string, ...rest: unknown[]) {
    seen.add(name);
    return raw.call(this, name, ...rest);
  };
  return { seen, restore: () => void (engine.runKernel = raw) };
}

/** Names of the kernels the engine dispatches while `fn` runs (kernels our kernels call internally not included). */
export function kernelsRunBy(fn: () => void): Set<string> {
  const s = spy();
  try {
    fn();
  } finally {
    s.restore();
  }
  return s.seen;
}

/** {@link kernelsRunBy} for an async `fn`, with its result. */
export async function kernelsRunDuring<T>(fn: () => Promise<T>): Promise<{ kernels: Set<string>; result: T }> {
  const s = spy();
  try {
    return { kernels: s.seen, result: await fn() };
  } finally {
    s.restore();
  }
}
