import { z } from '@multichexnet/core';

/** A writable line sink for the JSON logs (process.stdout by default). */
export interface LogStream {
  write(line: string): unknown;
}

/** Options of {@link startServer}, validated once. */
export const ServeOptionsSchema = z
  .object({
    /** A run folder, or its `model.stage1.onnx` (stage 2 is read from the same folder). */
    model: z.string().min(1),
    /** TCP port; 0 picks a free one (the resolved one is in the handle's `url`). */
    port: z.number().int().min(0).max(65535).default(8080),
    /** Interface to listen on. Loopback by default: put a reverse proxy with TLS in front to expose it. */
    host: z.string().min(1).default('127.0.0.1'),
    /** Largest accepted upload in bytes (413 above it). */
    maxBody: z.number().int().positive().default(32 * 1024 * 1024),
    /** Milliseconds a request may take from arrival to answer (503 with a timeout error after it). */
    timeout: z.number().int().positive().default(30_000),
    /** Images processed at once; one more request gets 503 with Retry-After. */
    concurrency: z.number().int().positive().default(2),
    /** onnxruntime intra-op threads (default: onnxruntime's choice). */
    threads: z.number().int().positive().optional(),
    /** Milliseconds a graceful shutdown waits for in-flight requests before it closes their connections. */
    shutdownTimeout: z.number().int().positive().default(30_000),
    /** `info` logs one line per request; `silent` none. */
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    /** Where the JSON log lines go (default stdout). */
    logStream: z.custom<LogStream>((v) => typeof v === 'object' && v !== null && typeof (v as LogStream).write === 'function', { message: 'must have a write(line) method' }).optional(),
  })
  .strict();
export type ServeOptions = z.input<typeof ServeOptionsSchema>;
export type ResolvedServeOptions = z.output<typeof ServeOptionsSchema>;
