import { z } from '@multichexnet/core';
import { OodPolicySchema } from '@multichexnet/runtime';

/** A writable line sink for the JSON logs (process.stdout by default). */
export interface LogStream {
  write(line: string): unknown;
}

const sink = z.custom<LogStream>(
  (v) => typeof v === 'object' && v !== null && typeof (v as LogStream).write === 'function',
  { message: 'must have a write(line) method' },
);

/** Certificate files of `serve`'s own TLS (PEM). */
export const ServeTlsSchema = z
  .object({
    /** Server certificate chain. */
    cert: z.string().min(1),
    /** Its private key. */
    key: z.string().min(1),
    /** CA certificate(s) that client certificates must chain to: set, every client must present one (mutual TLS). */
    clientCa: z.string().min(1).optional(),
  })
  .strict();

/** Options of {@link startServer}, validated once. */
export const ServeOptionsSchema = z
  .object({
    /** A run folder, or its `model.stage1.onnx` (stage 2 is read from the same folder). */
    model: z.string().min(1),
    /** TCP port; 0 picks a free one (the resolved one is in the handle's `url`). */
    port: z.number().int().min(0).max(65535).default(8080),
    /**
     * Interface to listen on. Loopback by default; any other address needs `tokens`/`tokensFile` or client
     * certificates (`tls.clientCa`), unless `insecureNoAuth`.
     */
    host: z.string().min(1).default('127.0.0.1'),
    /** API tokens (`Authorization: Bearer <token>`); with any, every route but /healthz needs one. Kept hashed. */
    tokens: z.array(z.object({ name: z.string(), token: z.string() }).strict()).optional(),
    /** A file of `name:token` lines, added to `tokens`. */
    tokensFile: z.string().min(1).optional(),
    /** Serve without authentication on a non-loopback address (a warning is logged at start). */
    insecureNoAuth: z.boolean().default(false),
    /** Serve HTTPS (and with `clientCa`, mutual TLS) instead of plain HTTP. */
    tls: ServeTlsSchema.optional(),
    /**
     * Requests per minute per token (per client address without tokens); more get 429 with Retry-After. 0: no limit.
     */
    rateLimit: z.number().int().min(0).default(600),
    /** Proxies whose `X-Forwarded-For` gives the client address (comma-separated addresses or CIDRs). */
    trustProxy: z.string().min(1).optional(),
    /** Milliseconds a client has to send the request headers (408 after them). */
    headersTimeout: z.number().int().positive().default(10_000),
    /**
     * One JSON line per request: a file (appended) or a sink. Without it, the lines go to the log stream unless
     * logLevel is silent.
     */
    auditLog: z.union([z.string().min(1), sink]).optional(),
    /** Largest accepted upload in bytes (413 above it). */
    maxBody: z
      .number()
      .int()
      .positive()
      .default(32 * 1024 * 1024),
    /** Milliseconds a request may take from arrival to answer: 408 while its upload is still arriving, 503 after. */
    timeout: z.number().int().positive().default(30_000),
    /** Images processed at once; one more request gets 503 with Retry-After. */
    concurrency: z.number().int().positive().default(2),
    /** onnxruntime intra-op threads (default: onnxruntime's choice). */
    threads: z.number().int().positive().optional(),
    /** Out-of-distribution images: refuse (default when the model records OOD statistics), flag or off. */
    ood: OodPolicySchema.optional(),
    /** Milliseconds a graceful shutdown waits for in-flight requests before it closes their connections. */
    shutdownTimeout: z.number().int().positive().default(30_000),
    /** `info` logs one line per request; `silent` none. */
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    /** Where the JSON log lines go (default stdout). */
    logStream: sink.optional(),
  })
  .strict();
export type ServeOptions = z.input<typeof ServeOptionsSchema>;
export type ResolvedServeOptions = z.output<typeof ServeOptionsSchema>;
