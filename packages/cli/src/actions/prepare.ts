import { setLogSink } from '@multichexnet/core';
import type { CommandContext } from '../context';

/**
 * First step of every action that loads the model packages: library log lines go through the reporter so they
 * never tear a progress bar (restored when the invocation ends).
 */
export function routeLibraryLogs(ctx: CommandContext): void {
  setLogSink((level, message) =>
    level === 'warn' || level === 'error' ? ctx.reporter.warn(message) : ctx.reporter.info(message),
  );
  ctx.onCleanup(() => setLogSink(null));
}
