import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesize } from '@multichexnet/synth';
import type { AuditRecord } from '../src/index';
import { send, type Answer } from './helpers/http-client';
import { deflateBombDicom, manyPartsBody, pngBomb, smallDeflatedDicom } from './helpers/hostile-inputs';
import { writeTestModel } from './helpers/model';
import { spawnCli, waitForOutput, type CliProcess } from './helpers/spawn-cli';

/*
 * Attacks on a real `multichexnet serve` process (its own memory, measured from /proc): each must end with the
 * right status within its limit, and the server's peak resident memory must stay far below what the attack asks
 * for (the bombs decode to 256 MiB and 1 GiB). The limits are small so the test is quick: 2 MiB uploads, headers
 * within 2 s, requests within 4 s.
 */

const MAX_BODY = 2 * 1024 * 1024;
const HEADERS_TIMEOUT_MS = 2000;
const TIMEOUT_MS = 4000;
// Generous: the bombs would take 256 MiB (PNG) and 1-2 GiB (DICOM) if anything decoded them.
const PEAK_GROWTH_LIMIT_MIB = 160;

let root: string;
let serve: CliProcess;
let url: string;
let png: Uint8Array;
const memory: Record<string, { status: number | string; ms: number; rssMiB: number; peakMiB: number }> = {};

/** Resident and peak resident memory of the server process, MiB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)![1]) / 1024;
  return { rss: Math.round(kib('VmRSS')), peak: Math.round(kib('VmHWM')) };
}

/** Runs one attack, timing it and recording the server's memory after it. */
async function attack(
  name: string,
  run: () => Promise<number | string>,
): Promise<{ status: number | string; ms: number }> {
  const t0 = performance.now();
  const status = await run();
  const ms = Math.round(performance.now() - t0);
  const m = memoryOf(serve.child.pid!);
  memory[name] = { status, ms, rssMiB: m.rss, peakMiB: m.peak };
  return { status, ms };
}

/** POSTs `body` to /v1/predict as `type`. */
function predict(body: Uint8Array, type: string): Promise<Answer> {
  return send(`${url}/v1/predict`, { method: 'POST', body, headers: { 'content-type': type } });
}

/** {@link predict} as a timed {@link attack}; returns the server's answer. */
async function attackPredict(name: string, body: Uint8Array, type: string): Promise<Answer> {
  let answer!: Answer;
  await attack(name, async () => {
    answer = await predict(body, type);
    return answer.status;
  });
  return answer;
}

/**
 * Opens a raw connection, writes `head`, then one byte of `drip` a second until the server answers or closes;
 * resolves with the status line's code (or 'closed') and the time from the first byte.
 */
function slowClient(head: string, drip: string): Promise<{ status: number | 'closed'; ms: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(url).port) });
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    const t0 = performance.now();
    let i = 0;
    const done = (): void => {
      clearInterval(timer);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      resolve({ status: m !== null ? Number(m[1]) : 'closed', ms: Math.round(performance.now() - t0) });
    };
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (i < drip.length && !socket.destroyed) socket.write(drip[i++]!);
      }, 1000);
    });
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('close', done);
    socket.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'ECONNRESET' || e.code === 'EPIPE' ? undefined : reject(e),
    );
    // Bounded: no answer within 20 s fails the test.
    setTimeout(() => socket.destroy(), 20_000).unref();
  });
}

const jsonOf = (a: Answer): { error?: string } => JSON.parse(a.text) as { error?: string };

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mcx-serve-hostile-'));
  const modelDir = join(root, 'model');
  await writeTestModel(modelDir);
  await synthesize({ out: join(root, 'synth'), counts: { nih: 1, rsna: 0, siim: 0, covid: 0 }, size: 64, seed: 3 });
  png = new Uint8Array(readFileSync(join(root, 'synth', 'nih', 'images', '00000001_000.png')));
  serve = spawnCli([
    'serve',
    '--model',
    modelDir,
    '--port',
    '0',
    '--threads',
    '1',
    '--max-body',
    String(MAX_BODY),
    '--timeout',
    String(TIMEOUT_MS),
    '--headers-timeout',
    String(HEADERS_TIMEOUT_MS),
    '--audit-log',
    join(root, 'audit.jsonl'),
    '--log-level',
    'warn',
  ]);
  await waitForOutput(serve, (_out, err) => /listening on http:\/\/127\.0\.0\.1:\d+/.test(err));
  url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(serve.stderr())![1]!;
  // Warm up (first inference allocates onnxruntime's arenas): the baseline is a server that has worked.
  for (let i = 0; i < 3; i++) expect((await predict(png, 'image/png')).status).toBe(200);
  const m = memoryOf(serve.child.pid!);
  memory.baseline = { status: 200, ms: 0, rssMiB: m.rss, peakMiB: m.peak };
}, 120_000);

afterAll(async () => {
  if (serve !== undefined && serve.child.exitCode === null) {
    serve.child.kill('SIGTERM');
    await serve.exited;
  }
  // The numbers the closing note of the issue reports.
  console.info(`serve-hostile memory: ${JSON.stringify(memory)}`);
  rmSync(root, { recursive: true, force: true });
});

describe('multichexnet serve under hostile inputs, in its own process', () => {
  it('a deflated DICOM whose data set inflates to 1 GiB: 413 once the inflated bytes pass the upload limit', async () => {
    const bomb = deflateBombDicom();
    expect(bomb.length).toBeLessThan(MAX_BODY);
    const answer = await attackPredict('deflate bomb DICOM (1 GiB data set, 1 MiB file)', bomb, 'application/dicom');
    // 413 is the inflate bound's answer (the request timeout's is 408): refused in time; how fast is `ms` in the log.
    expect(answer.status, answer.text).toBe(413);
    expect(jsonOf(answer)).toMatchObject({
      error: 'PayloadTooLarge',
      message: expect.stringMatching(/inflates past the upload limit of 2097152 bytes/) as unknown,
    });
    // A well-formed small deflated DICOM is let through the bound to the decoder (which may or may not read it yet).
    const small = await predict(smallDeflatedDicom(), 'application/dicom');
    expect([200, 400], small.text).toContain(small.status);
  });

  it('a valid PNG declaring 16000 x 16000 pixels in a quarter megabyte: 400 before decoding', async () => {
    const bomb = pngBomb();
    const answer = await attackPredict('PNG bomb (16000 x 16000, 250 KB)', bomb, 'image/png');
    expect(answer.status, answer.text).toBe(400);
    expect(jsonOf(answer)).toMatchObject({
      error: 'DataError',
      message: expect.stringMatching(/PNG header declares an image too large to decode.*16000 x 16000/) as unknown,
    });
  });

  it('multipart bodies with many parts: 413 at the second part', async () => {
    for (const [name, fields, files] of [
      ['multipart, 5000 fields', 5000, 0],
      ['multipart, 2000 files', 0, 2000],
      ['multipart, a file then 3000 fields', 3000, 1],
    ] as const) {
      const form = manyPartsBody(fields, files);
      const answer = await attackPredict(name, form.body, form.type);
      expect(answer.status, `${name}: ${answer.text}`).toBe(413);
      expect(jsonOf(answer), name).toMatchObject({ error: 'TooManyParts' });
    }
  });

  it('headers sent one byte a second (slowloris): 408 at the headers timeout, and others are still served meanwhile', async () => {
    const head = 'POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ';
    const { status, ms } = await attack('slowloris headers, 30 connections, 1 byte/s', async () => {
      const slow = Array.from({ length: 30 }, () => slowClient(head, 'a'.repeat(60)));
      // Served while 30 connections drip.
      await new Promise((r) => setTimeout(r, 500));
      const meanwhile = await predict(png, 'image/png');
      expect(meanwhile.status).toBe(200);
      const results = await Promise.all(slow);
      expect(new Set(results.map((r) => r.status))).toEqual(new Set([408]));
      return results[0]!.status;
    });
    expect(status).toBe(408);
    // Not before the deadline; that it came at it, not later, is the 408 itself (the drip would end first otherwise).
    expect(ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
  });

  it('a body sent one byte a second: 408 at the request timeout, and its slot is freed', async () => {
    const head = `POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: ${png.length}\r\n\r\n`;
    const { status, ms } = await attack(
      'slow body, 1 byte/s',
      async () => (await slowClient(head, Buffer.from(png).toString('latin1'))).status,
    );
    expect(status).toBe(408);
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    const health = JSON.parse((await send(`${url}/healthz`)).text) as { inFlight: number };
    expect(health.inFlight).toBe(0);
  });

  it('kept its peak memory bounded through all of it, and audited every attack', async () => {
    const base = memory.baseline!;
    const peak = Math.max(...Object.values(memory).map((m) => m.peakMiB));
    expect(peak - base.peakMiB).toBeLessThan(PEAK_GROWTH_LIMIT_MIB);
    expect((await predict(png, 'image/png')).status).toBe(200);
    const lines = readFileSync(join(root, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditRecord);
    const bomb = lines.find((l) => l.status === 413 && l.error === 'PayloadTooLarge')!;
    expect(bomb.sha256).toBe(createHash('sha256').update(deflateBombDicom()).digest('hex'));
    expect(lines.filter((l) => l.error === 'TooManyParts')).toHaveLength(3);
    expect(lines.filter((l) => l.status === 408 && l.error === 'RequestTimeout').length).toBe(31);
    expect(lines.find((l) => l.status === 400 && l.error === 'DataError')).toBeDefined();
  });
});
