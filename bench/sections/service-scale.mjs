// Scale-out of @multichexnet/service on this machine, with the project's default model (densenet-small encoder
// + cls + det + seg, seeded weights: speed does not depend on their values) at 256 px:
//   screening   images/s of `multichexnet screen worker` processes on one local Redis: 1 worker x 2 onnxruntime
//               threads, 2 workers x 1 thread, and the same with --batch 4; steady rate (first to last stored result) and wall time with
//               process start. Images: synthetic films (PNG and JPEG Baseline DICOM) at 256 px.
//   queue       what one Redis carries: BullMQ jobs/s with a processor that only writes the result (HSETNX of
//               a result-sized JSON), enqueue rate, and Redis bytes per queued job and per stored result.
//   serve       `multichexnet serve` (own process) latency percentiles under a fixed number of concurrent
//               clients on loopback, a bounded request count and time; real NIH PNG / SIIM DICOM (1024 px) read
//               in place from ../shared/realdata when present, else synthetic films.
// Needs redis-server on PATH (skipped otherwise). Everything listens on 127.0.0.1 only.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

export const name = 'service';
export const description =
  'screening images/s (1 and 2 worker processes on one Redis), queue capacity (no-op jobs/s, bytes per job), serve latency percentiles under fixed concurrent load';
export const packages = [
  'core',
  'core-encoder',
  'head-cls',
  'head-det',
  'head-seg',
  'model',
  'data',
  'synth',
  'runtime',
  'export',
  'service',
];

const SIZE = 256;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startRedis(dir) {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let log = '';
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      log += d;
      if (log.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (c) => reject(new Error(`redis-server exited ${c}: ${log}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, child };
}

/**
 * A `multichexnet screen|serve ...` process running the built service package (the CLI registers the same commands).
 */
function spawnCommand(serviceDist, command, args) {
  const code = `import { ${command}Command } from ${JSON.stringify(serviceDist)};
await ${command}Command().parseAsync(process.argv.slice(1), { from: 'user' });
process.exit(process.exitCode ?? 0);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, '--', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return { child, out: () => out, err: () => err, exited };
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))))];
}

function files(dir, re, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) files(p, re, out);
    else if (re.test(e.name)) out.push(p);
  }
  return out.sort();
}

export async function run(ctx) {
  if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0)
    return { skipped: 'redis-server is not installed (apt-get install redis-server)' };
  const core = await ctx.importPackage('core');
  const { createEncoder } = await ctx.importPackage('core-encoder');
  const { createClsHead } = await ctx.importPackage('head-cls');
  const { createDetHead } = await ctx.importPackage('head-det');
  const { createSegHead } = await ctx.importPackage('head-seg');
  const synth = await ctx.importPackage('synth');
  const { createMultiCheXNet } = await ctx.importPackage('model');
  const ex = await ctx.importPackage('export');
  const service = await ctx.importPackage('service');
  const serviceDist = pathToFileURL(join(ctx.repoRoot, 'packages', 'service', 'dist', 'index.js')).href;
  const { Queue, Worker } = await import('bullmq');
  const { Redis } = await import('ioredis');

  const root = mkdtempSync(join(tmpdir(), 'mcx-bench-service-'));
  const redis = await startRedis(root);
  const client = new Redis(redis.url);
  const result = {
    machine: { note: 'all processes share this machine: workers, Redis, client', loadAverage1mAtStart: loadavg()[0] },
  };
  try {
    // ---- model and images
    await core.initBackend('cpu');
    const encoder = createEncoder({ preset: 'densenet-small', seed: 1 });
    const fc = encoder.featureChannels;
    const heads = {
      cls: createClsHead({ classes: [...core.CHESTXRAY14_CLASSES], featureChannels: fc, seed: 2 }),
      det: createDetHead({ featureChannels: fc, seed: 3 }),
      seg: createSegHead({ featureChannels: fc, seed: 4 }),
    };
    const model = createMultiCheXNet({ encoder, heads });
    const modelDir = join(root, 'model');
    await ex.writePipelineFiles(modelDir, await ex.exportPipeline(model, { preprocessing: { size: SIZE } }));
    model.dispose();
    const n = ctx.quick ? { nih: 30, rsna: 10 } : { nih: 120, rsna: 40 };
    const synthDir = join(root, 'synth');
    let t = performance.now();
    await synth.synthesize({
      out: synthDir,
      counts: { nih: n.nih, rsna: n.rsna, siim: 0, covid: 0 },
      size: SIZE,
      seed: 21,
    });
    ctx.log(`model written, ${n.nih + n.rsna} films synthesised in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const total = n.nih + n.rsna;

    // ---- screening: 1 worker x 2 threads, 2 workers x 1 thread
    result.screening = { images: total, imageSide: SIZE, formats: { png: n.nih, dicomJpegBaseline: n.rsna } };
    for (const cfg of [
      { workers: 1, threads: 2, batch: 1 },
      { workers: 2, threads: 1, batch: 1 },
      { workers: 2, threads: 1, batch: 4 },
    ]) {
      const queue = `bench-${cfg.workers}w-b${cfg.batch}`;
      t = performance.now();
      const enq = await service.enqueue({ source: synthDir, redis: redis.url, queue });
      const enqueueMs = performance.now() - t;
      const t0 = performance.now();
      const procs = Array.from({ length: cfg.workers }, () =>
        spawnCommand(serviceDist, 'screen', [
          'worker',
          '--redis',
          redis.url,
          '--queue',
          queue,
          '--model',
          modelDir,
          '--threads',
          String(cfg.threads),
          '--batch',
          String(cfg.batch),
          '--until-empty',
          '--log-level',
          'warn',
        ]),
      );
      const resultsKey = service.screenKeys(queue).results;
      let firstAt = null;
      let done = 0;
      const deadline = t0 + (ctx.quick ? 120_000 : 300_000);
      while (done < enq.images && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        done = await client.hlen(resultsKey);
        if (firstAt === null && done > 0) firstAt = performance.now();
      }
      const lastAt = performance.now();
      const codes = await Promise.all(procs.map((p) => p.exited));
      if (done < enq.images)
        throw new Error(`screening ${queue} stopped at ${done}/${enq.images}: ${procs.map((p) => p.err()).join('\n')}`);
      const steady = (done - 1) / ((lastAt - firstAt) / 1000);
      const positives = Object.values(await client.hgetall(resultsKey)).filter(
        (v) => JSON.parse(v).gate.positive,
      ).length;
      result.screening[`workers${cfg.workers}_threads${cfg.threads}_batch${cfg.batch}`] = {
        imagesPerSecond: steady,
        wallSecondsWithStartup: (lastAt - t0) / 1000,
        enqueueImagesPerSecond: enq.files / (enqueueMs / 1000),
        gatePositiveShare: positives / done,
        exitCodes: codes,
      };
      ctx.log(
        `${cfg.workers} worker(s) x ${cfg.threads} thread(s), batch ${cfg.batch}: ${steady.toFixed(1)} images/s steady, ${((lastAt - t0) / 1000).toFixed(1)} s with startup`,
      );
    }
    const k2 = service.screenKeys('bench-2w-b1');
    const perImage = async (key) => Number(await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) / total;
    result.screening.redisBytesPerImage = {
      results: await perImage(k2.results),
      images: await perImage(k2.images),
      ids: await perImage(k2.ids),
    };
    const one = result.screening.workers1_threads2_batch1.imagesPerSecond;
    const two = result.screening.workers2_threads1_batch1.imagesPerSecond;
    result.screening.twoWorkersOverOne = two / one;
    result.screening.batch4OverBatch1 = result.screening.workers2_threads1_batch4.imagesPerSecond / two;

    // ---- queue capacity: BullMQ + the results store with a processor that does nothing else
    const jobs = ctx.quick ? 1000 : 4000;
    const sampleResult = (await client.hvals(service.screenKeys('bench-1w-b1').results))[0];
    const queue = new Queue('noop', { connection: { url: redis.url }, prefix: service.BULL_PREFIX });
    const memBefore = Number(/used_memory:(\d+)/.exec(await client.info('memory'))[1]);
    t = performance.now();
    const hex = (i) => i.toString(16).padStart(64, '0');
    for (let i = 0; i < jobs; i += 500) {
      await queue.addBulk(
        Array.from({ length: Math.min(500, jobs - i) }, (_, k) => ({
          name: 'screen',
          data: {
            sha256: hex(i + k),
            id: `00000000_${String(i + k).padStart(3, '0')}`,
            file: `/data/nih/images/00000000_${i + k}.png`,
            payload: 'path',
            bytes: 180000,
          },
          opts: {
            jobId: hex(i + k),
            attempts: 3,
            backoff: { type: 'exponential', delay: 2000 },
            removeOnComplete: true,
            removeOnFail: false,
          },
        })),
      );
    }
    const addPerSecond = jobs / ((performance.now() - t) / 1000);
    const memQueued = Number(/used_memory:(\d+)/.exec(await client.info('memory'))[1]);
    const jobBytes = Number(await client.call('MEMORY', 'USAGE', `${service.BULL_PREFIX}:noop:${hex(0)}`));
    const resultsKey = service.screenKeys('noop').results;
    let processed = 0;
    t = performance.now();
    const worker = new Worker(
      'noop',
      async (job) => {
        await client.hsetnx(resultsKey, job.id, sampleResult);
        processed++;
      },
      { connection: { url: redis.url, maxRetriesPerRequest: null }, prefix: service.BULL_PREFIX, concurrency: 16 },
    );
    while (processed < jobs) await new Promise((r) => setTimeout(r, 20));
    const processPerSecond = jobs / ((performance.now() - t) / 1000);
    await worker.close();
    await queue.close();
    const memAfter = Number(/used_memory:(\d+)/.exec(await client.info('memory'))[1]);
    result.queue = {
      jobs,
      enqueueJobsPerSecond: addPerSecond,
      noopJobsPerSecondOneProcess: processPerSecond,
      bytesPerQueuedJob: (memQueued - memBefore) / jobs,
      jobHashBytes: jobBytes,
      resultJsonBytes: sampleResult.length,
      bytesPerStoredResult: (memAfter - memBefore) / jobs,
      note: 'one worker process with concurrency 16 and the Redis server on the same 2 cores; each job: move to active, lock, HSETNX result, move to finished (removed)',
    };
    // Raw Redis ceiling on this machine for the commands a job is made of (pipelining off: one round trip each).
    const rb = spawnSync(
      'redis-benchmark',
      [
        '-p',
        redis.url.split(':').pop(),
        '-t',
        'set,get,lpush,hset',
        '-n',
        ctx.quick ? '20000' : '100000',
        '-q',
        '--csv',
      ],
      { encoding: 'utf8' },
    );
    if (rb.status === 0) {
      result.queue.redisBenchmarkOpsPerSecond = Object.fromEntries(
        rb.stdout
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => l.split(',').map((c) => c.replace(/"/g, '')))
          .map(([test, rps]) => [test, Number(rps)]),
      );
    }
    ctx.log(
      `queue: ${processPerSecond.toFixed(0)} no-op jobs/s, ${(result.queue.bytesPerStoredResult / 1024).toFixed(2)} KiB per stored result`,
    );

    // ---- serve: latency under fixed concurrency
    const real = join(ctx.repoRoot, '..', 'shared', 'realdata');
    const realFiles = ['00000001_000.png', '1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm']
      .map((f) => join(real, f))
      .filter(existsSync);
    const uploads = (realFiles.length > 0 ? realFiles : files(synthDir, /\.(png|dcm)$/).slice(0, 8)).map((f) => ({
      bytes: readFileSync(f),
      type: f.endsWith('.dcm') ? 'application/dicom' : 'image/png',
    }));
    const port = await freePort();
    const server = spawnCommand(serviceDist, 'serve', [
      '--model',
      modelDir,
      '--port',
      String(port),
      '--concurrency',
      '4',
      '--log-level',
      'warn',
    ]);
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; !/listening/.test(server.err()); i++) {
      if (i > 600) throw new Error(`server did not start: ${server.err()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    result.serve = {
      inputs:
        realFiles.length > 0 ? 'real NIH PNG 1024 px + real SIIM DICOM (JPEG Baseline)' : `synthetic ${SIZE} px films`,
      serverConcurrency: 4,
    };
    for (const clients of [1, 4]) {
      const requests = ctx.quick ? 20 : 100;
      const latencies = [];
      const codes = {};
      let next = 0;
      const stopAt = performance.now() + 60_000;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (next < requests && performance.now() < stopAt) {
            const u = uploads[next++ % uploads.length];
            const s = performance.now();
            const res = await fetch(`${url}/v1/predict`, {
              method: 'POST',
              body: u.bytes,
              headers: { 'content-type': u.type },
            });
            await res.arrayBuffer();
            latencies.push(performance.now() - s);
            codes[res.status] = (codes[res.status] ?? 0) + 1;
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      latencies.sort((a, b) => a - b);
      result.serve[`clients${clients}`] = {
        requests: latencies.length,
        statusCodes: codes,
        requestsPerSecond: latencies.length / seconds,
        p50Ms: pct(latencies, 50),
        p90Ms: pct(latencies, 90),
        p99Ms: pct(latencies, 99),
        maxMs: latencies[latencies.length - 1],
      };
      ctx.log(
        `serve, ${clients} client(s): p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms, ${(latencies.length / seconds).toFixed(1)} req/s`,
      );
    }
    server.child.kill('SIGTERM');
    result.serve.exitCodeAfterSigterm = await server.exited;
    result.machine.loadAverage1mAtEnd = loadavg()[0];
    return result;
  } finally {
    client.disconnect();
    redis.child.kill('SIGTERM');
    rmSync(root, { recursive: true, force: true });
  }
}
