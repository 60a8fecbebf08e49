import { Command, Option } from 'commander';
import { parseTokenList, TOKENS_ENV } from '../server/auth';
import { startServer } from '../server/start-server';
import { bytesArg, inferenceSettings, intArg, withInferenceOptions, type InferenceCliOptions } from './parse-args';

interface ServeCliOptions extends InferenceCliOptions {
  model: string;
  port: number;
  host: string;
  maxBody: number;
  timeout: number;
  headersTimeout: number;
  shutdownTimeout: number;
  tokensFile?: string;
  insecureNoAuth: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  rateLimit: number;
  trustProxy?: string;
  auditLog?: string;
  logLevel: 'info';
}

/**
 * `multichexnet serve --model <run folder | model.stage1.onnx>`: the HTTP inference service until SIGTERM or
 * SIGINT, which drain it (in-flight requests finish, new ones get 503) before the process exits. API tokens come
 * from `--tokens-file` and the `MULTICHEXNET_TOKENS` environment variable (both `name:token` entries).
 *
 * @example
 * program.addCommand(serveCommand());
 */
export function serveCommand(): Command {
  const cmd = new Command('serve')
    .description(
      'HTTP inference service: POST /v1/predict (PNG, JPEG, DICOM -> JSON), POST /v1/overlay (-> PNG), GET /v1/model, GET /healthz',
    )
    .requiredOption('-m, --model <path>', 'run folder, or its model.stage1.onnx (model.stage2.onnx is read beside it)')
    .option('-p, --port <n>', 'TCP port (0: any free port)', intArg, 8080)
    .option('--host <address>', 'interface to listen on; off loopback it needs tokens or --tls-client-ca', '127.0.0.1')
    .option(
      '--tokens-file <file>',
      `API tokens, lines name:token (also env ${TOKENS_ENV}); clients send Authorization: Bearer <token>`,
    )
    .option('--insecure-no-auth', 'serve on a non-loopback address without authentication (logged as a warning)', false)
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate chain (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--tls-client-ca <file>', 'mutual TLS: clients must present a certificate from this PEM CA')
    .option(
      '--rate-limit <n>',
      'requests per minute per token (per client address without tokens); 0: none',
      intArg,
      600,
    )
    .option(
      '--trust-proxy <addresses>',
      'proxies (comma-separated addresses or CIDRs) whose X-Forwarded-For names the client',
    )
    .option('--audit-log <file>', 'append one JSON line per request to this file (default: the log on stdout)')
    .option(
      '--max-body <size>',
      'largest upload, e.g. 32mb (413 above it; a deflated DICOM counts inflated)',
      bytesArg,
      32 * 1024 * 1024,
    )
    .option(
      '--timeout <ms>',
      'answer within this many ms: 408 while the upload is still arriving, else 503',
      intArg,
      30_000,
    )
    .option('--headers-timeout <ms>', 'time a client has to send its request headers (408 after it)', intArg, 10_000);
  return withInferenceOptions(cmd, {
    concurrency: 'images processed at once (more get 503 + Retry-After)',
    defaultConcurrency: 2,
    threads: 'onnxruntime intra-op threads',
  })
    .option('--shutdown-timeout <ms>', 'how long SIGTERM waits for in-flight requests', intArg, 30_000)
    .addOption(
      new Option('--log-level <level>', 'JSON log level')
        .choices(['debug', 'info', 'warn', 'error', 'silent'])
        .default('info'),
    )
    .action(async (o: ServeCliOptions) => {
      const fromEnv = process.env[TOKENS_ENV];
      const tls =
        o.tlsCert !== undefined || o.tlsKey !== undefined || o.tlsClientCa !== undefined
          ? { cert: o.tlsCert, key: o.tlsKey, ...(o.tlsClientCa !== undefined ? { clientCa: o.tlsClientCa } : {}) }
          : undefined;
      const server = await startServer({
        model: o.model,
        port: o.port,
        host: o.host,
        ...(fromEnv !== undefined && fromEnv.trim() !== '' ? { tokens: parseTokenList(fromEnv, TOKENS_ENV) } : {}),
        ...(o.tokensFile !== undefined ? { tokensFile: o.tokensFile } : {}),
        insecureNoAuth: o.insecureNoAuth,
        // zod names a missing --tls-cert or --tls-key (tls.cert / tls.key).
        ...(tls !== undefined ? { tls: tls as { cert: string; key: string } } : {}),
        rateLimit: o.rateLimit,
        ...(o.trustProxy !== undefined ? { trustProxy: o.trustProxy } : {}),
        ...(o.auditLog !== undefined ? { auditLog: o.auditLog } : {}),
        maxBody: o.maxBody,
        timeout: o.timeout,
        headersTimeout: o.headersTimeout,
        ...inferenceSettings(o),
        shutdownTimeout: o.shutdownTimeout,
        logLevel: o.logLevel,
      });
      for (const w of server.warnings) process.stderr.write(`multichexnet serve: warning: ${w}\n`);
      process.stderr.write(`multichexnet serve: listening on ${server.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          server.close().then(resolve, (e: unknown) => {
            process.stderr.write(`multichexnet serve: shutdown failed: ${(e as Error).message}\n`);
            process.exitCode = 1;
            resolve();
          });
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
}
