import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { DataError, parseConfig } from '@multichexnet/core';
import { createUploadDecoder, decodeUpload } from '../image/decode-upload';
import { openPipeline, type LoadedPipeline } from '../model/open-pipeline';
import { resultToJson } from '../model/result-json';
import type { ScreenJobData } from './enqueue';
import { BULL_PREFIX, bullConnection, connectRedis, resolveRedis, screenKeys, type ScreenKeys } from './redis';
import { BatchRunner } from './batch-runner';
import { recordResult, type StoredResult } from './results-store';
import { WorkerOptionsSchema, type LineSink, type WorkerOptions } from './screen-options';

/** A running screening worker process's handle. */
export interface ScreenWorker {
  /** `host:pid`, as stored with its results. */
  readonly name: string;
  /** Counts of this process: results stored, duplicates dropped, jobs failed (final or to be retried). */
  stats(): { stored: number; duplicates: number; failed: number };
  /** Stops taking jobs, finishes the running ones, releases the model and Redis. Idempotent. */
  close(): Promise<void>;
  /** Settles when the worker has closed (after `close()`, or by itself with `untilEmpty`). */
  readonly closed: Promise<void>;
}

/** Job return value (kept only until BullMQ removes the completed job). */
interface JobOutcome {
  stored: boolean;
}

/**
 * Starts a screening worker in this process: it takes jobs from the queue (any number of processes on any number
 * of machines may serve one queue), runs the gated pipeline on each image and stores the result once per content
 * hash (see the README, "Results store"). A job whose worker dies is taken over by another worker once its lock
 * expires (`lockMs`); images that cannot be decoded fail at once with the decoder's error, other errors are
 * retried with exponential backoff. Every worker of a queue must load the same model (checked by checksum).
 *
 * @example
 * const w = await startWorker({ redis: 'rediss://worker:pw@10.0.0.5:6380', redisTls: { ca: 'ca.pem' }, queue: 'rsna', model: 'runs/exp1', concurrency: 2 });
 * process.once('SIGTERM', () => void w.close());
 */
export async function startWorker(options: WorkerOptions): Promise<ScreenWorker> {
  const opts = parseConfig(WorkerOptionsSchema, options, 'worker options');
  const endpoint = resolveRedis(opts);
  const name = `${hostname()}:${process.pid}`;
  const keys = screenKeys(opts.queue);
  const out: LineSink = opts.logStream ?? process.stdout;
  const levels = { info: 20, warn: 30, error: 40, silent: 100 } as const;
  const log = (level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void => {
    if (levels[level] < levels[opts.logLevel]) return;
    out.write(
      `${JSON.stringify({ level, time: new Date().toISOString(), service: 'multichexnet-screen-worker', worker: name, queue: opts.queue, msg, ...fields })}\n`,
    );
  };

  // Reconnects forever, like BullMQ's own clients: a Redis restart pauses the worker instead of failing its jobs.
  const redis = await connectRedis(endpoint, { blocking: true });
  let loaded: LoadedPipeline | null = null;
  try {
    loaded = await openPipeline(opts.model, {
      ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
      ...(opts.ood !== undefined ? { ood: opts.ood } : {}),
    });
    await bindModel(redis, keys, loaded);
  } catch (e) {
    await loaded?.pipeline.dispose();
    redis.disconnect();
    throw e;
  }
  const { pipeline, checksum } = loaded;
  const counts = { stored: 0, duplicates: 0, failed: 0 };
  const decoder = await createUploadDecoder();
  const runner = new BatchRunner(pipeline, opts.batch, opts.batchWaitMs);
  const concurrency = Math.max(opts.concurrency, opts.batch);

  const process1 = async (job: Job<ScreenJobData, JobOutcome>): Promise<JobOutcome> => {
    const { sha256, id, file, payload } = job.data;
    const fromRedis = payload === 'redis';
    if ((await redis.hexists(keys.results, sha256)) === 1) {
      // Finished elsewhere (a re-delivered job): nothing to compute.
      if (fromRedis) await redis.del(keys.blob(sha256));
      counts.duplicates++;
      return { stored: false };
    }
    const t0 = performance.now();
    const bytes = fromRedis ? await redis.getBuffer(keys.blob(sha256)) : await readFile(file);
    if (bytes === null)
      throw new UnrecoverableError(
        `DataError: image bytes missing from Redis (field ${keys.blob(sha256)}): enqueue the image again`,
      );
    const actual = createHash('sha256').update(bytes).digest('hex');
    let result;
    try {
      if (actual !== sha256) {
        throw new DataError('Image changed since it was enqueued', {
          file: id,
          field: 'sha256',
          expected: sha256,
          found: actual,
        });
      }
      const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      // The file's extension tells the decoder a DICOM without the Part 10 preamble; errors name the image id.
      const upload = await decodeUpload(view, id, /\.(dcm|dicom)$/i.test(file), decoder);
      result = resultToJson(await runner.run(upload.image), id);
    } catch (e) {
      // Bad data fails the same way on every try: no retries, the decoder's message is the job's error.
      if (e instanceof DataError) throw new UnrecoverableError(`DataError: ${e.message}`);
      throw e;
    }
    const stored: StoredResult = {
      sha256,
      model: checksum,
      worker: name,
      finishedAt: new Date().toISOString(),
      ...result,
    };
    const first = await recordResult(redis, keys, stored, fromRedis);
    if (first) counts.stored++;
    else counts.duplicates++;
    log('info', first ? 'stored' : 'duplicate dropped', {
      job: sha256.slice(0, 12),
      ms: Math.round((performance.now() - t0) * 10) / 10,
      gate: result.gate.positive,
    });
    return { stored: first };
  };

  const worker = new Worker<ScreenJobData, JobOutcome>(opts.queue, process1, {
    connection: bullConnection(endpoint),
    prefix: BULL_PREFIX,
    name,
    concurrency,
    lockDuration: opts.lockMs,
    stalledInterval: opts.stalledCheckMs ?? Math.max(500, Math.floor(opts.lockMs / 2)),
    // A job survives two dead workers before it is failed as "stalled".
    maxStalledCount: 2,
    autorun: false,
  });
  worker.on('failed', (job, err) => {
    counts.failed++;
    const final =
      job !== undefined && (err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1));
    // The log gets the sentence our code wrote, or the error class and code (an fs message holds the path); the
    // job keeps the whole message for `screen status`.
    const code = (err as NodeJS.ErrnoException).code;
    const error =
      err instanceof UnrecoverableError
        ? err.message.split(' (')[0]
        : `${err.name}${code !== undefined ? ` ${code}` : ''}`;
    log(final ? 'error' : 'warn', final ? 'failed' : 'failed, will retry', {
      job: job?.id?.slice(0, 12),
      attempt: job?.attemptsMade,
      error,
    });
  });
  worker.on('error', (err) => log('error', 'worker error', { error: err.message }));

  let closing: Promise<void> | null = null;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let poll: NodeJS.Timeout | null = null;
  const watcher = opts.untilEmpty
    ? new Queue(opts.queue, { connection: bullConnection(endpoint), prefix: BULL_PREFIX })
    : null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (poll !== null) clearInterval(poll);
      log('info', 'closing', counts);
      try {
        await worker.close();
      } finally {
        await watcher?.close();
        await pipeline.dispose();
        redis.disconnect();
        log('info', 'closed', counts);
        resolveClosed();
      }
    })();
    return closing;
  };

  if (watcher !== null) {
    let checking = false;
    poll = setInterval(() => {
      if (checking) return;
      checking = true;
      watcher
        .getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children')
        .then(async (c) => {
          if (Object.values(c).every((n) => n === 0)) await close();
        })
        .catch((e: Error) => log('warn', 'queue count failed', { error: e.message }))
        .finally(() => (checking = false));
    }, 250);
  }

  void worker.run();
  log('info', 'started', { model: checksum.slice(0, 16), concurrency, batch: opts.batch });
  return { name, stats: () => ({ ...counts }), close, closed };
}

/**
 * Binds the queue to one model: the first worker records its checksum and class names; a worker with another
 * model is refused, so a queue's results never mix two models.
 */
async function bindModel(redis: Redis, keys: ScreenKeys, { pipeline, checksum }: LoadedPipeline): Promise<void> {
  await redis.hsetnx(keys.meta, 'model', checksum);
  await redis.hsetnx(keys.meta, 'classNames', JSON.stringify(pipeline.metadata.classNames));
  await redis.hsetnx(keys.meta, 'hasSeg', pipeline.metadata.decode.seg !== null ? '1' : '0');
  const bound = await redis.hget(keys.meta, 'model');
  if (bound !== checksum) {
    throw new DataError('This queue is bound to another model', {
      field: 'model checksum',
      expected: bound ?? '?',
      found: checksum,
    });
  }
}
