import { Queue } from 'bullmq';
import { parseConfig } from '@multichexnet/core';
import type { ScreenJobData } from './enqueue';
import { BULL_PREFIX, bullConnection, connectRedis, resolveRedis, screenKeys } from './redis';
import { TICK_SECONDS } from './results-store';
import { StatusOptionsSchema, type StatusOptions } from './screen-options';

/** One failed image. */
export interface FailedImage {
  sha256: string;
  id: string;
  /** The last error (a DataError's message names the file, field, expected and found). */
  reason: string;
  attempts: number;
}

/** Progress of a screening queue. */
export interface ScreenStatus {
  queue: string;
  /** Distinct images (contents) ever enqueued. */
  total: number;
  /** Images with a stored result. */
  done: number;
  /** Images whose job failed for good. */
  failed: number;
  waiting: number;
  active: number;
  /** Waiting for a retry (backoff). */
  delayed: number;
  /** total - done - failed. */
  remaining: number;
  /** Results stored per second over the last minute (Redis server clock). */
  ratePerSecond: number;
  /** remaining / rate, or null without a rate. */
  etaSeconds: number | null;
  /** Results computed twice (a re-delivered job) and dropped by the store. */
  duplicatesDropped: number;
  /** Checksum of the model the queue is bound to (null before the first worker). */
  model: string | null;
  /** The first `failures` failed images. */
  failures: FailedImage[];
}

/**
 * Progress of a screening queue: done / failed / waiting counts, the rate over the last minute and the time
 * left, and the errors of failed images.
 *
 * @example
 * const s = await screenStatus({ redis: 'rediss://worker:pw@10.0.0.5:6380', redisTls: { ca: 'ca.pem' }, queue: 'rsna' });
 * console.log(`${s.done}/${s.total} done, ${s.failed} failed, ${s.ratePerSecond.toFixed(1)} img/s, ${s.etaSeconds} s left`);
 */
export async function screenStatus(options: StatusOptions): Promise<ScreenStatus> {
  const opts = parseConfig(StatusOptionsSchema, options, 'status options');
  const endpoint = resolveRedis(opts);
  const keys = screenKeys(opts.queue);
  const redis = await connectRedis(endpoint);
  const queue = new Queue<ScreenJobData>(opts.queue, { connection: bullConnection(endpoint), prefix: BULL_PREFIX });
  try {
    const [total, done, meta, time] = await Promise.all([
      redis.hlen(keys.images),
      redis.hlen(keys.results),
      redis.hgetall(keys.meta),
      redis.time(),
    ]);
    const counts = await queue.getJobCounts('wait', 'prioritized', 'active', 'delayed', 'failed');
    const now = Number(time[0]) + Number(time[1]) / 1e6;
    const current = Math.floor(now / TICK_SECONDS);
    const window = 6;
    const firstBucket = meta.firstBucket !== undefined ? Number(meta.firstBucket) : current;
    const from = Math.max(current - window, firstBucket);
    const buckets = Array.from({ length: current - from + 1 }, (_, i) => String(from + i));
    const hits = buckets.length > 0 ? await redis.hmget(keys.ticks, ...buckets) : [];
    const recent = hits.reduce((s, v) => s + Number(v ?? 0), 0);
    const seconds = Math.max(1, now - from * TICK_SECONDS);
    const ratePerSecond = recent / seconds;
    const failedJobs = opts.failures > 0 ? await queue.getFailed(0, opts.failures - 1) : [];
    const failed = counts.failed ?? 0;
    const remaining = Math.max(0, total - done - failed);
    return {
      queue: opts.queue,
      total,
      done,
      failed,
      waiting: (counts.wait ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      remaining,
      ratePerSecond,
      etaSeconds: remaining === 0 ? 0 : ratePerSecond > 0 ? remaining / ratePerSecond : null,
      duplicatesDropped: Number(meta.duplicates ?? 0),
      model: meta.model ?? null,
      failures: failedJobs.map((j) => ({
        sha256: j.data.sha256,
        id: j.data.id,
        reason: j.failedReason,
        attempts: j.attemptsMade,
      })),
    };
  } finally {
    await queue.close();
    redis.disconnect();
  }
}
