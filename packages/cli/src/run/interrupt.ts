import type { CommandContext } from '../context';

/**
 * Runs `work` with an AbortSignal that Ctrl-C (SIGINT) raises: training stops after the current step, its
 * checkpoints stay, and `--resume` goes on from the newest one.
 */
export async function interruptible<T>(ctx: CommandContext, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = (): void => {
    ctx.reporter.warn('interrupted: stopping after this step (resume with --resume)');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
