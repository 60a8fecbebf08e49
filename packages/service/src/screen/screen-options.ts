import { z } from '@multichexnet/core';
import { OodPolicySchema } from '@multichexnet/runtime';
import { QUEUE_NAME } from './redis';

/** The Redis and queue every screen command names. */
export const RedisTargetSchema = z.object({
  /**
   * Redis URL, e.g. `redis://127.0.0.1:6379/0` or `rediss://user:pass@host:6380` (plaintext `redis://` only to loopback
   * unless `allowPlaintextRedis`).
   */
  redis: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .default('redis://127.0.0.1:6379'),
  /** Queue name; several screening runs can share one Redis under different names. */
  queue: z.string().regex(QUEUE_NAME, 'must be 1-64 of A-Z a-z 0-9 _ . - (not starting with . _ -)').default('default'),
  /** Accept a plaintext `redis://` URL to another machine (refused by default: use `rediss://`). */
  allowPlaintextRedis: z.boolean().default(false),
  /**
   * PEM files for `rediss://`: the CA that signed the server's certificate, and a client certificate + key when Redis
   * asks for one (its default).
   */
  redisTls: z
    .object({ ca: z.string().min(1).optional(), cert: z.string().min(1).optional(), key: z.string().min(1).optional() })
    .strict()
    .optional(),
});
export type RedisTarget = z.output<typeof RedisTargetSchema>;

/** Options of {@link enqueue}. */
export const EnqueueOptionsSchema = RedisTargetSchema.extend({
  /** A folder (walked recursively for .png .jpg .jpeg .dcm .dicom) or a manifest (.csv with a `path` column and
   * an optional `id` column, .jsonl with {path, id?}, or a plain list, one path per line). */
  source: z.string().min(1),
  /**
   * `path`: jobs carry the file's absolute path, so every worker machine must see the files at that path (shared
   * storage). `redis`: the bytes go into Redis with the job and are deleted once the result is stored, so workers
   * need no shared storage (mind Redis memory: the whole backlog's bytes live there).
   */
  payload: z.enum(['path', 'redis']).default('path'),
  /** Tries per image before it ends as failed (bad image data fails at once, without retries). */
  attempts: z.number().int().min(1).max(100).default(3),
  /** First retry delay in ms; doubles per retry. */
  backoffMs: z.number().int().min(0).default(2000),
  /** Re-run images whose job failed before (default: keep them failed). */
  retryFailed: z.boolean().default(false),
  /** Called with (files hashed, files in total). */
  onProgress: z
    .custom<(done: number, total: number) => void>((v) => typeof v === 'function', { message: 'must be a function' })
    .optional(),
}).strict();
export type EnqueueOptions = z.input<typeof EnqueueOptionsSchema>;

/** A writable line sink for the worker's JSON logs (stdout by default). */
export interface LineSink {
  write(line: string): unknown;
}

/** A {@link LineSink} option; the message names what its `write` takes. */
function lineSink(what: string) {
  return z.custom<LineSink>((v) => typeof v === 'object' && v !== null && typeof (v as LineSink).write === 'function', {
    message: `must have a write(${what}) method`,
  });
}

/** Options of {@link startWorker}. */
export const WorkerOptionsSchema = RedisTargetSchema.extend({
  /** A run folder, or its `model.stage1.onnx`. Every worker of a queue must load the same model. */
  model: z.string().min(1),
  /** Images processed at once by this process. */
  concurrency: z.number().int().min(1).max(256).default(1),
  /** onnxruntime intra-op threads per process (default: onnxruntime's choice). */
  threads: z.number().int().positive().optional(),
  /** Out-of-distribution images: refuse (default when the model records OOD statistics), flag or off. */
  ood: OodPolicySchema.optional(),
  /**
   * Images per onnxruntime run: running jobs' images are grouped (waiting at most `batchWaitMs`), which is faster
   * per image on CPU. Raises `concurrency` to at least this.
   */
  batch: z.number().int().min(1).max(64).default(1),
  batchWaitMs: z.number().int().min(0).max(10_000).default(20),
  /** How long a job's lock lives without renewal: a crashed worker's images go back to the queue after it. */
  lockMs: z.number().int().min(1000).default(30_000),
  /** How often this worker looks for other workers' stalled jobs (default: half of lockMs). */
  stalledCheckMs: z.number().int().min(500).optional(),
  /** Leave once nothing is waiting, delayed or active in the queue. */
  untilEmpty: z.boolean().default(false),
  logLevel: z.enum(['info', 'warn', 'error', 'silent']).default('info'),
  logStream: lineSink('line').optional(),
}).strict();
export type WorkerOptions = z.input<typeof WorkerOptionsSchema>;

/** Options of {@link screenStatus}. */
export const StatusOptionsSchema = RedisTargetSchema.extend({
  /** How many failed images to list (with their errors). */
  failures: z.number().int().min(0).max(10_000).default(10),
}).strict();
export type StatusOptions = z.input<typeof StatusOptionsSchema>;

/** Export formats: every field, or a competition submission. */
export const EXPORT_FORMATS = ['csv', 'jsonl', 'rsna', 'siim'] as const;

/** Options of {@link exportResults}. */
export const ExportOptionsSchema = RedisTargetSchema.extend({
  /**
   * `csv`: id, sha256, gate, one probability column per class, PredictionString, EncodedPixels; `jsonl`: one
   * full result per line; `rsna`: `patientId,PredictionString` (RSNA Pneumonia submission, id = file stem);
   * `siim`: `ImageId,EncodedPixels` (SIIM-ACR submission, `-1` for no mask).
   */
  format: z.enum(EXPORT_FORMATS),
  /** Output file (written atomically); without it the text goes to `stream`. */
  out: z.string().min(1).optional(),
  stream: lineSink('text').optional(),
}).strict();
export type ExportOptions = z.input<typeof ExportOptionsSchema>;
