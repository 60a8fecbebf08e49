import { Command, Option } from 'commander';
import { startServer } from '../server/start-server';
import { bytesArg, intArg } from './parse-args';

/**
 * `multichexnet serve --model <run folder | model.stage1.onnx>`: the HTTP inference service until SIGTERM or
 * SIGINT, which drain it (in-flight requests finish, new ones get 503) before the process exits.
 *
 * @example
 * program.addCommand(serveCommand());
 */
export function serveCommand(): Command {
  return new Command('serve')
    .description('HTTP inference service: POST /v1/predict (PNG, JPEG, DICOM -> JSON), POST /v1/overlay (-> PNG), GET /healthz')
    .requiredOption('-m, --model <path>', 'run folder, or its model.stage1.onnx (model.stage2.onnx is read beside it)')
    .option('-p, --port <n>', 'TCP port (0: any free port)', intArg, 8080)
    .option('--host <address>', 'interface to listen on (put a TLS proxy in front to expose it)', '127.0.0.1')
    .option('--max-body <size>', 'largest upload, e.g. 32mb (413 above it)', bytesArg, 32 * 1024 * 1024)
    .option('--timeout <ms>', 'answer within this many ms or 503', intArg, 30_000)
    .option('-c, --concurrency <n>', 'images processed at once (more get 503 + Retry-After)', intArg, 2)
    .option('--threads <n>', 'onnxruntime intra-op threads', intArg)
    .option('--shutdown-timeout <ms>', 'how long SIGTERM waits for in-flight requests', intArg, 30_000)
    .addOption(new Option('--log-level <level>', 'JSON log level').choices(['debug', 'info', 'warn', 'error', 'silent']).default('info'))
    .action(async (o: { model: string; port: number; host: string; maxBody: number; timeout: number; concurrency: number; threads?: number; shutdownTimeout: number; logLevel: 'info' }) => {
      const server = await startServer({
        model: o.model,
        port: o.port,
        host: o.host,
        maxBody: o.maxBody,
        timeout: o.timeout,
        concurrency: o.concurrency,
        ...(o.threads !== undefined ? { threads: o.threads } : {}),
        shutdownTimeout: o.shutdownTimeout,
        logLevel: o.logLevel,
      });
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
