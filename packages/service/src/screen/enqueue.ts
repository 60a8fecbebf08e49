import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { DataError, parseConfig } from '@multichexnet/core';
import { EnqueueOptionsSchema, type EnqueueOptions } from './screen-options';
import { BULL_PREFIX, bullConnection, connectRedis, resolveRedis, screenKeys } from './redis';
import { scanInputs, type InputImage } from './scan-inputs';

/** The data of one screening job (its id is `sha256`). */
export interface ScreenJobData {
  sha256: string;
  /** Id of the first file seen with this content. */
  id: string;
  /** Absolute path (`payload: 'path'`), read by the worker. */
  file: string;
  payload: 'path' | 'redis';
  bytes: number;
}

/** What {@link enqueue} did. */
export interface EnqueueSummary {
  queue: string;
  /** Files found in the source. */
  files: number;
  /** Distinct contents among them. */
  images: number;
  /** Contents the queue had not seen before (new jobs). */
  added: number;
  /** Contents that already have a result (nothing to do). */
  alreadyDone: number;
  /** Contents already waiting or running (their jobs are kept). */
  alreadyQueued: number;
  /** Contents whose job had failed: re-run with `retryFailed`, else left failed. */
  failedRetried: number;
  failedKept: number;
}

const CHUNK = 256;
const READ_PARALLEL = 8;

/**
 * Queues every image of a folder or manifest for screening. Jobs are keyed by the SHA-256 of the file's bytes,
 * so enqueueing the same images again (or a copy under another name) adds nothing: images with a result are
 * skipped, waiting or running ones keep their job, failed ones stay failed unless `retryFailed`. Every id is
 * recorded (id -> content), so the exports have one row per file even when two files share their content.
 *
 * @example
 * const s = await enqueue({ source: 'data/rsna/stage_2_test_images', redis: 'rediss://worker:pw@10.0.0.5:6380', redisTls: { ca: 'ca.pem' }, queue: 'rsna' });
 * // { files: 3000, images: 3000, added: 3000, alreadyDone: 0, ... }
 */
export async function enqueue(options: EnqueueOptions): Promise<EnqueueSummary> {
  const opts = parseConfig(EnqueueOptionsSchema, options, 'enqueue options');
  const endpoint = resolveRedis(opts);
  const inputs = await scanInputs(opts.source);
  const keys = screenKeys(opts.queue);
  const redis = await connectRedis(endpoint);
  const queue = new Queue<ScreenJobData>(opts.queue, { connection: bullConnection(endpoint), prefix: BULL_PREFIX });
  const summary: EnqueueSummary = {
    queue: opts.queue,
    files: inputs.length,
    images: 0,
    added: 0,
    alreadyDone: 0,
    alreadyQueued: 0,
    failedRetried: 0,
    failedKept: 0,
  };
  const seen = new Set<string>();
  let hashed = 0;
  try {
    for (let start = 0; start < inputs.length; start += CHUNK) {
      const chunk = inputs.slice(start, start + CHUNK);
      const read = await mapLimited(chunk, READ_PARALLEL, async (img) => {
        const bytes = await readImage(img);
        opts.onProgress?.(++hashed, inputs.length);
        return { img, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
      });
      // Contents new to this call: one job each, whatever the number of files holding them.
      const fresh = read.filter((r) => !seen.has(r.sha256) && (seen.add(r.sha256), true));
      summary.images += fresh.length;
      const tx = redis.multi();
      for (const r of read) tx.hset(keys.ids, r.img.id, r.sha256);
      for (const r of fresh) {
        tx.hsetnx(keys.images, r.sha256, JSON.stringify({ id: r.img.id, file: r.img.file, bytes: r.bytes.length }));
        tx.hexists(keys.results, r.sha256);
      }
      const replies = (await tx.exec()) ?? [];
      const tail = replies.slice(read.length);
      const jobs: { r: (typeof fresh)[number] }[] = [];
      for (const [i, r] of fresh.entries()) {
        const isNew = tail[2 * i]?.[1] === 1;
        const done = tail[2 * i + 1]?.[1] === 1;
        if (done) summary.alreadyDone++;
        else if (isNew) jobs.push({ r });
        else {
          const state = await queue.getJobState(r.sha256);
          if (state === 'failed') {
            if (opts.retryFailed) {
              const job = await queue.getJob(r.sha256);
              if (opts.payload === 'redis') await redis.set(keys.blob(r.sha256), Buffer.from(r.bytes), 'NX');
              await job?.retry('failed', { resetAttemptsMade: true });
              summary.failedRetried++;
            } else summary.failedKept++;
          } else if (state === 'unknown')
            jobs.push({ r }); // known content whose job is gone without a result
          else summary.alreadyQueued++;
        }
      }
      if (opts.payload === 'redis' && jobs.length > 0) {
        const blobs = redis.multi();
        for (const { r } of jobs) blobs.set(keys.blob(r.sha256), Buffer.from(r.bytes), 'NX');
        await blobs.exec();
      }
      if (jobs.length > 0) {
        await queue.addBulk(
          jobs.map(({ r }) => ({
            name: 'screen',
            data: { sha256: r.sha256, id: r.img.id, file: r.img.file, payload: opts.payload, bytes: r.bytes.length },
            opts: {
              jobId: r.sha256,
              attempts: opts.attempts,
              backoff: { type: 'exponential', delay: opts.backoffMs },
              // The results store is the record of completed images; failed jobs stay, with their error.
              removeOnComplete: true,
              removeOnFail: false,
            },
          })),
        );
        summary.added += jobs.length;
      }
    }
  } finally {
    await queue.close();
    redis.disconnect();
  }
  return summary;
}

async function readImage(img: InputImage): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(img.file));
  } catch (e) {
    throw new DataError(
      'Cannot read image to enqueue',
      { file: img.file, expected: 'a readable file', found: (e as Error).message },
      { cause: e },
    );
  }
}

/** `fn` over `items` with at most `limit` running at once, results in order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}
