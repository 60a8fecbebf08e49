import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import { QueueEvents } from 'bullmq';
import { ConfigError, DataError } from '@multichexnet/core';
import { rleDecode } from '@multichexnet/data';
import { synthesize, SYNTH_PHI_MARKER } from '@multichexnet/synth';
import { parseRsnaPredictionString } from '@multichexnet/head-det';
import {
  BULL_PREFIX,
  enqueue,
  exportResults,
  scanInputs,
  screenCommand,
  screenKeys,
  screenStatus,
  startWorker,
  type StoredResult,
} from '../src/index';
import { writeTestModel } from './helpers/model';
import { REDIS_SERVER, REDIS_SKIP_REASON, freePort, startRedis, type TestRedis } from './helpers/redis-server';
import { spawnCli, waitForOutput, type CliProcess } from './helpers/spawn-cli';

const hasRedis = REDIS_SERVER !== null;
if (!hasRedis) console.warn(`screen tests skipped: ${REDIS_SKIP_REASON}`);

let root: string;
let redis: TestRedis;
let client: Redis;
let modelDir: string;
let imagesDir: string;
/** Every image file written, by id (file stem). */
let expectedIds: string[];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mcx-screen-'));
  modelDir = join(root, 'model');
  await writeTestModel(modelDir);
  if (!hasRedis) return;
  redis = await startRedis();
  client = new Redis(redis.url);
  imagesDir = join(root, 'synth');
  // 160 PNG + 30 RSNA DICOM + 30 SIIM DICOM + 10 COVID PNG/JPEG films at 64 px (fake PHI in every DICOM).
  await synthesize({ out: imagesDir, counts: { nih: 160, rsna: 30, siim: 30, covid: 10 }, size: 64, seed: 11 });
  // A corrupt file (PNG signature, then garbage) and a byte-identical copy of one image under another name.
  writeFileSync(
    join(imagesDir, 'corrupt-0001.png'),
    Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(300, 7)]),
  );
  copyFileSync(join(imagesDir, 'nih', 'images', '00000001_000.png'), join(imagesDir, 'copy-of-00000001_000.png'));
  expectedIds = (await scanInputs(imagesDir)).map((i) => i.id);
}, 120_000);

afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Writes `files` (path under `dir` -> text), making their folders; returns `dir`. */
function writeTree(dir: string, files: Record<string, string>): string {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('scanInputs', () => {
  it('walks a folder recursively for PNG, JPEG and DICOM, ids are file stems', async () => {
    const names = ['x.png', 'a/y.JPG', 'a/b/z.dcm', 'notes.txt', 'a/b/w.nii.gz', '.hidden.png'];
    const dir = writeTree(join(root, 'scan'), Object.fromEntries(names.map((f) => [f, 'x'])));
    const found = await scanInputs(dir);
    expect(found.map((f) => f.id)).toEqual(['z', 'y', 'x']);
    expect(found.every((f) => f.file.startsWith(dir))).toBe(true);
  });

  it('reads csv, jsonl and plain-list manifests relative to their folder', async () => {
    const dir = writeTree(join(root, 'manifests'), {
      'm.csv': 'path,id\nimgs/a.png,first\n"imgs/b,c.dcm",\n',
      'm.jsonl': '{"path":"imgs/a.png"}\n\n{"path":"/abs/b.dcm","id":"B"}\n',
      'm.txt': '# list\nimgs/a.png\n\nimgs/c.jpeg\n',
    });
    expect(await scanInputs(join(dir, 'm.csv'))).toEqual([
      { id: 'first', file: join(dir, 'imgs/a.png') },
      { id: 'b,c', file: join(dir, 'imgs/b,c.dcm') },
    ]);
    expect(await scanInputs(join(dir, 'm.jsonl'))).toEqual([
      { id: 'a', file: join(dir, 'imgs/a.png') },
      { id: 'B', file: '/abs/b.dcm' },
    ]);
    expect((await scanInputs(join(dir, 'm.txt'))).map((i) => i.id)).toEqual(['a', 'c']);
  });

  it('refuses a manifest without a path column, a bad JSON line, and two files with one id', async () => {
    const dir = writeTree(join(root, 'bad-manifests'), {
      'nopath.csv': 'name,id\na.png,1\n',
      'bad.jsonl': '{"path":"a.png"}\n{oops\n',
      'clash.txt': 'x/a.png\ny/a.png\n',
    });
    await expect(scanInputs(join(dir, 'nopath.csv'))).rejects.toThrow(/no path column.*found name,id/);
    await expect(scanInputs(join(dir, 'bad.jsonl'))).rejects.toThrow(/row 2/);
    const clash = await scanInputs(join(dir, 'clash.txt')).catch((e: unknown) => e);
    expect(clash).toBeInstanceOf(DataError);
    expect((clash as DataError).message).toMatch(/same image id.*row 2.*a for both/);
    await expect(scanInputs(join(dir, 'missing-folder'))).rejects.toBeInstanceOf(DataError);
  });
});

describe('screen options and connection errors', () => {
  it('validates options with ConfigError naming the field', async () => {
    await expect(enqueue({ source: 'x', queue: 'bad name!' })).rejects.toBeInstanceOf(ConfigError);
    await expect(exportResults({ format: 'xml' as 'csv' })).rejects.toThrow(/format/);
    await expect(startWorker({ model: modelDir, redis: 'http://localhost' })).rejects.toThrow(
      /redis: must start with redis:\/\//,
    );
  });

  it('names an unreachable Redis in a DataError', async () => {
    const port = await freePort();
    await expect(screenStatus({ redis: `redis://:secret@127.0.0.1:${port}` })).rejects.toThrow(
      /Cannot reach Redis \(file redis:\/\/:\*\*\*@127\.0\.0\.1/,
    );
  });
});

describe.skipIf(!hasRedis)('screening with 3 worker processes, one killed with SIGKILL mid-run', () => {
  const queue = 'crash';
  const workers: CliProcess[] = [];

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  });

  it('gives every image exactly one result, fails the corrupt file with its error, and re-enqueueing adds nothing', async () => {
    const total = expectedIds.length; // files, of which two share their content
    const first = await enqueue({ source: imagesDir, redis: redis.url, queue, attempts: 3, backoffMs: 200 });
    expect(first).toMatchObject({ files: total, images: total - 1, added: total - 1, alreadyDone: 0 });
    const again = await enqueue({ source: imagesDir, redis: redis.url, queue });
    expect(again).toMatchObject({ files: total, images: total - 1, added: 0, alreadyQueued: total - 1 });

    const events = new QueueEvents(queue, { connection: { url: redis.url }, prefix: BULL_PREFIX });
    await events.waitUntilReady();
    let stalled = 0;
    events.on('stalled', () => stalled++);

    const args = [
      'screen',
      'worker',
      '--redis',
      redis.url,
      '--queue',
      queue,
      '--model',
      modelDir,
      '--concurrency',
      '2',
      '--threads',
      '1',
      '--lock-ms',
      '2000',
      '--stalled-check-ms',
      '1000',
    ];
    // The third groups its running jobs into onnxruntime batches of 2.
    for (let i = 0; i < 3; i++) workers.push(spawnCli(i === 2 ? [...args, '--batch', '2'] : args));
    await Promise.all(workers.map((w) => waitForOutput(w, (out) => out.includes('"msg":"started"'))));

    const keys = screenKeys(queue);
    const victim = workers[0]!;
    // Kill one worker once it has stored some results (so it dies in the middle of its stream of jobs).
    await waitForOutput(victim, (out) => (out.match(/"msg":"stored"/g) ?? []).length >= 5);
    victim.child.kill('SIGKILL');
    expect(await victim.exited).toBe('SIGKILL');
    const doneAtKill = await client.hlen(keys.results);
    expect(doneAtKill).toBeLessThan(total - 1);

    const t0 = Date.now();
    let status = await screenStatus({ redis: redis.url, queue });
    while (status.done + status.failed < status.total) {
      if (Date.now() - t0 > 60_000) throw new Error(`screening did not finish: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 200));
      status = await screenStatus({ redis: redis.url, queue });
    }
    expect(status).toMatchObject({
      total: total - 1,
      done: total - 2,
      failed: 1,
      waiting: 0,
      active: 0,
      delayed: 0,
      remaining: 0,
      etaSeconds: 0,
    });
    expect(status.ratePerSecond).toBeGreaterThan(0);
    expect(status.failures).toHaveLength(1);
    expect(status.failures[0]).toMatchObject({ id: 'corrupt-0001', attempts: 1 });
    expect(status.failures[0]!.reason).toMatch(/^DataError: .*PNG.*file corrupt-0001/);
    // The killed worker's running jobs were found stalled and handed to the others.
    expect(stalled).toBeGreaterThanOrEqual(1);

    // Exactly one result per content: the store is keyed by hash and written once; every result is complete.
    const stored = Object.values(await client.hgetall(keys.results)).map((v) => JSON.parse(v) as StoredResult);
    expect(stored).toHaveLength(total - 2);
    expect(new Set(stored.map((r) => r.sha256)).size).toBe(total - 2);
    expect(new Set(stored.map((r) => r.worker)).size).toBeGreaterThanOrEqual(2);
    for (const r of stored) {
      expect(Object.keys(r.probabilities)).toHaveLength(14);
      expect(r.gate.positive).toBe(true);
      expect(r.maskRle).not.toBe('');
    }

    // Re-enqueueing a finished run changes nothing.
    const third = await enqueue({ source: imagesDir, redis: redis.url, queue });
    expect(third).toMatchObject({ added: 0, alreadyDone: total - 2, failedKept: 1, alreadyQueued: 0 });
    expect(await client.hlen(keys.results)).toBe(total - 2);

    // The survivors drain on SIGTERM and exit 0.
    for (const w of workers.slice(1)) w.child.kill('SIGTERM');
    expect(await Promise.all(workers.slice(1).map((w) => w.exited))).toEqual([0, 0]);
    await events.close();

    // jsonl: one row per file id with a result (the copy gets its own row), the corrupt file left out.
    const jsonl = join(root, 'out', 'results.jsonl');
    const sum = await exportResults({ redis: redis.url, queue, format: 'jsonl', out: jsonl });
    expect(sum).toMatchObject({ rows: total - 1, missing: 1, path: jsonl });
    const rows = readFileSync(jsonl, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as StoredResult & { id: string });
    expect(rows.map((r) => r.id)).toEqual(expectedIds.filter((id) => id !== 'corrupt-0001').sort());
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get('copy-of-00000001_000')!.sha256).toBe(byId.get('00000001_000')!.sha256);

    // rsna: patientId,PredictionString; the boxes read back equal the stored ones (4 decimals).
    const rsnaText: string[] = [];
    await exportResults({
      redis: redis.url,
      queue,
      format: 'rsna',
      stream: { write: (t: string) => rsnaText.push(t) },
    });
    const rsna = rsnaText.join('').trim().split('\n');
    expect(rsna[0]).toBe('patientId,PredictionString');
    expect(rsna).toHaveLength(total);
    let boxes = 0;
    for (const line of rsna.slice(1)) {
      const [id, pred] = line.split(',') as [string, string];
      const parsed = parseRsnaPredictionString(pred);
      const ref = byId.get(id)!.boxes;
      expect(parsed).toHaveLength(ref.length);
      parsed.forEach((b, k) => expect(b.score).toBeCloseTo(ref[k]!.score, 4));
      boxes += parsed.length;
    }
    expect(boxes).toBeGreaterThan(0);

    // siim: ImageId,EncodedPixels; each RLE decodes to a mask with the stored pixel count.
    const siimFile = join(root, 'out', 'siim.csv');
    await exportResults({ redis: redis.url, queue, format: 'siim', out: siimFile });
    const siim = readFileSync(siimFile, 'utf8').trim().split('\n');
    expect(siim[0]).toBe('ImageId,EncodedPixels');
    for (const line of siim.slice(1)) {
      const [id, rle] = line.split(',') as [string, string];
      const r = byId.get(id)!;
      const mask = rleDecode(rle, r.mask?.width ?? 1, r.mask?.height ?? 1);
      expect(mask.data.reduce((s, v) => s + v, 0)).toBe(r.mask?.pixels ?? 0);
    }

    // csv: header with one probability column per class, quoted where needed.
    const csvFile = join(root, 'out', 'results.csv');
    await exportResults({ redis: redis.url, queue, format: 'csv', out: csvFile });
    const csv = readFileSync(csvFile, 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(
      /^id,sha256,gate_probability,gate_positive,p_Atelectasis,p_Cardiomegaly,.*,p_Hernia,PredictionString,EncodedPixels,ood_score,ood_decision,calibrated$/,
    );
    expect(csv).toHaveLength(total);
    // the test model records no OOD statistics and no temperatures: the last three columns say so
    for (const row of csv.slice(1)) expect(row.endsWith(',,,false')).toBe(true);

    // The DICOMs carry fake PHI: none of it reaches worker logs, the stored failure or the exports.
    const dcm = (await scanInputs(join(imagesDir, 'rsna'))).find((i) => i.file.endsWith('.dcm'))!;
    expect(readFileSync(dcm.file).includes(SYNTH_PHI_MARKER)).toBe(true);
    for (const w of workers) expect(w.stdout() + w.stderr()).not.toContain(SYNTH_PHI_MARKER);
    for (const f of [jsonl, siimFile, csvFile]) expect(readFileSync(f, 'utf8')).not.toContain(SYNTH_PHI_MARKER);
    expect(rsnaText.join('')).not.toContain(SYNTH_PHI_MARKER);
    expect(JSON.stringify(status)).not.toContain(SYNTH_PHI_MARKER);
  }, 150_000);

  it('prints progress and exports through the screen commands', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const so = vi.spyOn(process.stdout, 'write').mockImplementation((t) => (out.push(String(t)), true));
    const se = vi.spyOn(process.stderr, 'write').mockImplementation((t) => (err.push(String(t)), true));
    try {
      await screenCommand().parseAsync(['status', '--redis', redis.url, '--queue', queue], { from: 'user' });
      await screenCommand().parseAsync(['status', '--redis', redis.url, '--queue', queue, '--json'], { from: 'user' });
      await screenCommand().parseAsync(
        ['export', '--redis', redis.url, '--queue', queue, '--format', 'rsna', '--out', join(root, 'out', 'cli.csv')],
        { from: 'user' },
      );
    } finally {
      so.mockRestore();
      se.mockRestore();
    }
    const total = expectedIds.length - 1;
    expect(out[0]).toMatch(
      new RegExp(
        `^queue crash: ${total - 1}/${total} done \\(\\d+\\.\\d%\\), 1 failed, 0 waiting, 0 active, 0 retrying\\n`,
      ),
    );
    expect(out[0]).toMatch(/failed corrupt-0001 \([0-9a-f]{12}, 1 attempt\(s\)\): DataError: /);
    expect(JSON.parse(out[1]!)).toMatchObject({ queue, total, done: total - 1, failed: 1 });
    expect(err.join('')).toMatch(
      new RegExp(`exported ${total} image\\(s\\) as rsna to .*cli\\.csv; 1 without a result`),
    );
    expect(readFileSync(join(root, 'out', 'cli.csv'), 'utf8').split('\n')[0]).toBe('patientId,PredictionString');
  });
});

describe.skipIf(!hasRedis)('screening with the image bytes in Redis (no shared storage), in-process worker', () => {
  it('matches the path-payload results for the same contents and leaves no payload behind', async () => {
    const queue = 'inline';
    const dir = join(root, 'inline');
    mkdirSync(dir);
    const names = ['00000001_000.png', '00000002_000.png', '00000003_000.png'];
    for (const n of names) copyFileSync(join(imagesDir, 'nih', 'images', n), join(dir, n));
    const s = await enqueue({ source: dir, redis: redis.url, queue, payload: 'redis' });
    expect(s.added).toBe(3);
    const keys = screenKeys(queue);
    expect(await client.keys(keys.blob('*'))).toHaveLength(3);
    // Workers never read the files: remove them before the worker runs.
    rmSync(dir, { recursive: true });
    const lines: string[] = [];
    const worker = await startWorker({
      redis: redis.url,
      queue,
      model: modelDir,
      untilEmpty: true,
      threads: 1,
      logStream: { write: (l: string) => lines.push(l) },
    });
    await worker.closed;
    expect(worker.stats()).toEqual({ stored: 3, duplicates: 0, failed: 0 });
    expect(await client.keys(keys.blob('*'))).toHaveLength(0);
    expect(lines.every((l) => JSON.parse(l).service === 'multichexnet-screen-worker')).toBe(true);
    const crash = screenKeys('crash');
    for (const [hash, value] of Object.entries(await client.hgetall(keys.results))) {
      const mine = JSON.parse(value) as StoredResult;
      const other = JSON.parse((await client.hget(crash.results, hash))!) as StoredResult;
      expect(mine.probabilities).toEqual(other.probabilities);
      expect(mine.boxes).toEqual(other.boxes);
      expect(mine.maskRle).toBe(other.maskRle);
    }
  }, 60_000);

  it('re-runs failed images with retryFailed, and they fail again with the same error', async () => {
    const before = await screenStatus({ redis: redis.url, queue: 'crash' });
    expect(before.failed).toBe(1);
    const s = await enqueue({ source: imagesDir, redis: redis.url, queue: 'crash', retryFailed: true });
    expect(s).toMatchObject({ added: 0, failedRetried: 1, failedKept: 0, alreadyDone: before.done });
    expect((await screenStatus({ redis: redis.url, queue: 'crash' })).waiting).toBe(1);
    const worker = await startWorker({
      redis: redis.url,
      queue: 'crash',
      model: modelDir,
      untilEmpty: true,
      threads: 1,
      logLevel: 'silent',
    });
    await worker.closed;
    expect(worker.stats()).toEqual({ stored: 0, duplicates: 0, failed: 1 });
    const after = await screenStatus({ redis: redis.url, queue: 'crash' });
    expect(after).toMatchObject({ done: before.done, failed: 1, waiting: 0 });
    expect(after.failures[0]!.reason).toBe(before.failures[0]!.reason);
  }, 60_000);

  it('retries an unreadable file with backoff, then keeps it failed with the I/O error', async () => {
    const dir = join(root, 'vanishing');
    mkdirSync(dir);
    copyFileSync(join(imagesDir, 'nih', 'images', '00000005_000.png'), join(dir, 'gone.png'));
    await enqueue({ source: dir, redis: redis.url, queue: 'retry', attempts: 3, backoffMs: 100 });
    // The file disappears between enqueue and work (an unmounted share): not bad data, so it is retried.
    rmSync(join(dir, 'gone.png'));
    const t0 = Date.now();
    const lines: string[] = [];
    const worker = await startWorker({
      redis: redis.url,
      queue: 'retry',
      model: modelDir,
      untilEmpty: true,
      logStream: { write: (l: string) => lines.push(l) },
    });
    await worker.closed;
    // Logged as the error class and code, never with the file's path.
    const failures = lines
      .map((l) => JSON.parse(l) as { msg: string; error?: string })
      .filter((r) => r.msg.startsWith('failed'));
    expect(failures.map((r) => [r.msg, r.error])).toEqual([
      ['failed, will retry', 'Error ENOENT'],
      ['failed, will retry', 'Error ENOENT'],
      ['failed', 'Error ENOENT'],
    ]);
    expect(lines.join('')).not.toContain('gone.png');
    // Two backoffs, 100 ms then 200 ms, before the third and last attempt.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(worker.stats()).toEqual({ stored: 0, duplicates: 0, failed: 3 });
    const s = await screenStatus({ redis: redis.url, queue: 'retry' });
    expect(s).toMatchObject({ total: 1, done: 0, failed: 1 });
    expect(s.failures[0]).toMatchObject({ id: 'gone', attempts: 3 });
    expect(s.failures[0]!.reason).toMatch(/ENOENT/);
  }, 60_000);

  it('keeps a worker alive across a Redis restart: it reconnects and takes the jobs enqueued afterwards', async () => {
    const own = await startRedis();
    const lines: string[] = [];
    const worker = await startWorker({
      redis: own.url,
      queue: 'restart',
      model: modelDir,
      threads: 1,
      lockMs: 2000,
      logStream: { write: (l: string) => lines.push(l) },
    });
    try {
      await own.stop();
      // Longer than a short-lived client's retries (3 tries, 1.2 s): only a reconnect-forever client survives.
      await new Promise((r) => setTimeout(r, 2500));
      const again = await startRedis(own.port);
      try {
        const dir = join(root, 'restart');
        mkdirSync(dir);
        copyFileSync(join(imagesDir, 'nih', 'images', '00000004_000.png'), join(dir, 'a.png'));
        await enqueue({ source: dir, redis: again.url, queue: 'restart' });
        const t0 = Date.now();
        let status = await screenStatus({ redis: again.url, queue: 'restart' });
        while (status.done < 1 && Date.now() - t0 < 30_000) {
          await new Promise((r) => setTimeout(r, 100));
          status = await screenStatus({ redis: again.url, queue: 'restart' });
        }
        expect(status).toMatchObject({ total: 1, done: 1, failed: 0 });
        expect(worker.stats().stored).toBe(1);
        await worker.close();
      } finally {
        await again.stop();
      }
    } finally {
      await worker.close();
    }
  }, 60_000);

  it('refuses a worker with another model on a bound queue', async () => {
    const other = join(root, 'other-model');
    await writeTestModel(other, 99);
    await expect(startWorker({ redis: redis.url, queue: 'inline', model: other, logLevel: 'silent' })).rejects.toThrow(
      /bound to another model/,
    );
  }, 60_000);
});
