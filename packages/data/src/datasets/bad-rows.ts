import { DataError } from '@multichexnet/core';
import type { BadSamplePolicy } from './dataset';

/** Collects bad rows under 'skip', throws them under 'fail'. */
export interface BadRowSink {
  (err: DataError): void;
  readonly count: number;
}

/** A {@link BadRowSink} for a policy. */
export function badRowSink(policy: BadSamplePolicy): BadRowSink {
  let count = 0;
  const sink = ((err: DataError) => {
    if (policy === 'fail') throw err;
    count++;
  }) as BadRowSink;
  Object.defineProperty(sink, 'count', { get: () => count });
  return sink;
}

/** Runs `fn` for one row; a DataError goes to the sink (skip or throw). Returns undefined when skipped. */
export function guardRow<T>(sink: (err: DataError) => void, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DataError) {
      sink(err);
      return undefined;
    }
    throw err;
  }
}

/**
 * Whether a box (top-left + size) lies inside a width x height pixel space. Touching the far edge is inside: the
 * real RSNA boxes reach x + width = 1024.
 */
export function boxInside(
  x: number,
  y: number,
  w: number,
  h: number,
  bounds: { width: number; height: number },
): boolean {
  return x >= 0 && y >= 0 && x + w <= bounds.width && y + h <= bounds.height;
}
