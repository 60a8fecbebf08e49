import { Command, Option } from 'commander';
import { enqueue } from '../screen/enqueue';
import { exportResults } from '../screen/export-results';
import { EXPORT_FORMATS } from '../screen/screen-options';
import { screenStatus, type ScreenStatus } from '../screen/screen-status';
import { startWorker } from '../screen/start-worker';
import { DEFAULT_REDIS, inferenceSettings, intArg, withInferenceOptions, type InferenceCliOptions } from './parse-args';

interface Target {
  redis: string;
  queue: string;
  allowPlaintextRedis: boolean;
  redisCa?: string;
  redisCert?: string;
  redisKey?: string;
}

function withTarget(cmd: Command): Command {
  return cmd
    .option(
      '-r, --redis <url>',
      'Redis URL, redis://[user:password@]host:port[/db] or rediss:// for TLS (env MULTICHEXNET_REDIS: keeps the password off the command line)',
      DEFAULT_REDIS,
    )
    .option('-q, --queue <name>', 'queue name (several runs can share one Redis)', 'default')
    .option('--redis-ca <file>', 'rediss://: PEM CA that signed the Redis server certificate')
    .option('--redis-cert <file>', 'rediss://: PEM client certificate, when Redis asks for one (tls-auth-clients)')
    .option('--redis-key <file>', 'rediss://: PEM key of --redis-cert')
    .option(
      '--allow-plaintext-redis',
      'accept a plaintext redis:// URL to another machine (refused by default)',
      false,
    );
}

/** The Redis part of a command's options, as the screen functions take it. */
function target(o: Target): {
  redis: string;
  queue: string;
  allowPlaintextRedis: boolean;
  redisTls?: { ca?: string; cert?: string; key?: string };
} {
  const files = {
    ...(o.redisCa !== undefined ? { ca: o.redisCa } : {}),
    ...(o.redisCert !== undefined ? { cert: o.redisCert } : {}),
    ...(o.redisKey !== undefined ? { key: o.redisKey } : {}),
  };
  return {
    redis: o.redis,
    queue: o.queue,
    allowPlaintextRedis: o.allowPlaintextRedis,
    ...(Object.keys(files).length > 0 ? { redisTls: files } : {}),
  };
}

function duration(seconds: number | null): string {
  if (seconds === null) return 'unknown';
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

function printStatus(s: ScreenStatus): string {
  const pct = s.total === 0 ? 0 : (100 * s.done) / s.total;
  const lines = [
    `queue ${s.queue}: ${s.done}/${s.total} done (${pct.toFixed(1)}%), ${s.failed} failed, ${s.waiting} waiting, ${s.active} active, ${s.delayed} retrying`,
    `rate ${s.ratePerSecond.toFixed(2)} images/s over the last minute, time left ${duration(s.etaSeconds)}`,
  ];
  if (s.duplicatesDropped > 0) lines.push(`${s.duplicatesDropped} re-delivered result(s) dropped by the store`);
  for (const f of s.failures)
    lines.push(`failed ${f.id} (${f.sha256.slice(0, 12)}, ${f.attempts} attempt(s)): ${f.reason}`);
  return `${lines.join('\n')}\n`;
}

/**
 * `multichexnet screen enqueue | worker | status | export`: batch screening on a Redis-backed BullMQ queue.
 *
 * @example
 * program.addCommand(screenCommand());
 */
export function screenCommand(): Command {
  const screen = new Command('screen').description(
    'batch screening on a Redis job queue: enqueue images, run workers anywhere, follow progress, export results',
  );

  screen.addCommand(
    withTarget(new Command('enqueue'))
      .description(
        'queue every image of a folder or manifest (jobs keyed by content hash: enqueueing again adds nothing)',
      )
      .argument(
        '<source>',
        'folder (.png .jpg .jpeg .dcm, recursive) or manifest (.csv with path[,id], .jsonl, or one path per line)',
      )
      .addOption(
        new Option('--payload <kind>', 'path: workers read the files (shared storage); redis: bytes travel in Redis')
          .choices(['path', 'redis'])
          .default('path'),
      )
      .option('--attempts <n>', 'tries per image before it fails (bad image data fails at once)', intArg, 3)
      .option('--backoff <ms>', 'first retry delay, doubled per retry', intArg, 2000)
      .option('--retry-failed', 're-run images whose job failed before', false)
      .action(
        async (
          source: string,
          o: Target & { payload: 'path' | 'redis'; attempts: number; backoff: number; retryFailed: boolean },
        ) => {
          const s = await enqueue({
            source,
            ...target(o),
            payload: o.payload,
            attempts: o.attempts,
            backoffMs: o.backoff,
            retryFailed: o.retryFailed,
          });
          process.stdout.write(
            `queue ${s.queue}: ${s.files} files, ${s.images} distinct images: ${s.added} added, ${s.alreadyQueued} already queued, ${s.alreadyDone} already done, ` +
              `${s.failedRetried} failed retried, ${s.failedKept} failed kept\n`,
          );
        },
      ),
  );

  const workerCommand = withTarget(new Command('worker'))
    .description(
      'run the model on queued images until SIGTERM / SIGINT (finishes running images first); start as many as you like, on any machine',
    )
    .requiredOption(
      '-m, --model <path>',
      'run folder, or its model.stage1.onnx (the same model for every worker of a queue)',
    );
  screen.addCommand(
    withInferenceOptions(workerCommand, {
      concurrency: 'images processed at once by this process',
      defaultConcurrency: 1,
      threads: 'onnxruntime intra-op threads per process',
    })
      .option(
        '--batch <n>',
        'images per onnxruntime run, grouped from running jobs (raises --concurrency to at least n)',
        intArg,
        1,
      )
      .option('--lock-ms <ms>', "job lock: a dead worker's images return to the queue after it", intArg, 30_000)
      .option('--stalled-check-ms <ms>', 'how often to look for stalled jobs (default lock-ms / 2)', intArg)
      .option('--until-empty', 'exit once nothing is waiting, retrying or running', false)
      .addOption(
        new Option('--log-level <level>', 'JSON log level')
          .choices(['info', 'warn', 'error', 'silent'])
          .default('info'),
      )
      .action(
        async (
          o: Target &
            InferenceCliOptions & {
              model: string;
              batch: number;
              lockMs: number;
              stalledCheckMs?: number;
              untilEmpty: boolean;
              logLevel: 'info';
            },
        ) => {
          const worker = await startWorker({
            ...target(o),
            model: o.model,
            ...inferenceSettings(o),
            batch: o.batch,
            lockMs: o.lockMs,
            ...(o.stalledCheckMs !== undefined ? { stalledCheckMs: o.stalledCheckMs } : {}),
            untilEmpty: o.untilEmpty,
            logLevel: o.logLevel,
          });
          const stop = (): void => void worker.close();
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
          await worker.closed;
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
        },
      ),
  );

  screen.addCommand(
    withTarget(new Command('status'))
      .description('progress: done / failed / waiting, rate, time left, and the errors of failed images')
      .option('--failures <n>', 'failed images to list', intArg, 10)
      .option('--json', 'print JSON', false)
      .action(async (o: Target & { failures: number; json: boolean }) => {
        const s = await screenStatus({ ...target(o), failures: o.failures });
        process.stdout.write(o.json ? `${JSON.stringify(s, null, 2)}\n` : printStatus(s));
      }),
  );

  screen.addCommand(
    withTarget(new Command('export'))
      .description(
        'write the results: csv / jsonl (every field), rsna (patientId,PredictionString), siim (ImageId,EncodedPixels)',
      )
      .addOption(
        new Option('-f, --format <format>', 'output format').choices([...EXPORT_FORMATS]).makeOptionMandatory(),
      )
      .option('-o, --out <file>', 'output file (default: stdout)')
      .action(async (o: Target & { format: (typeof EXPORT_FORMATS)[number]; out?: string }) => {
        const s = await exportResults({
          ...target(o),
          format: o.format,
          ...(o.out !== undefined ? { out: o.out } : {}),
        });
        process.stderr.write(
          `exported ${s.rows} image(s) as ${s.format}${s.path !== null ? ` to ${s.path}` : ''}${s.missing > 0 ? `; ${s.missing} without a result (failed or pending) left out` : ''}\n`,
        );
      }),
  );
  return screen;
}
