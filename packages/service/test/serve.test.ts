import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@multichexnet/core';
import { decodeImage, decodePng } from '@multichexnet/data';
import { synthesize, SYNTH_PHI_MARKER } from '@multichexnet/synth';
import { renderOverlayPng } from '@multichexnet/runtime';
import { decodeUpload, startServer, type RunningServer } from '../src/index';
import { writeTestModel } from './helpers/model';
import { spawnCli, waitForOutput } from './helpers/spawn-cli';

let root: string;
let modelDir: string;
let png: Uint8Array;
let jpeg: Uint8Array;
/** RSNA (JPEG Baseline) and SIIM DICOMs carrying fake PHI. */
let dicoms: Uint8Array[];
/** A 2048 x 2048 PNG: slow enough to decode that requests overlap. */
let bigPng: Uint8Array;
let server: RunningServer;
const logLines: string[] = [];
/** Lossless transfer syntaxes written by dcmtk / gdcm (the data package's tests hold the full list). */
const DICOM_TRANSCODE: [string, string[]][] = [
  ['dcmconv', ['+tb']],
  ['dcmconv', ['+td']],
  ['dcmcrle', []],
  ['dcmcjpeg', ['+e1']],
  ['dcmcjpls', []],
  ['gdcmconv', ['--j2k']],
];
const haveDicomTools = [...new Set(DICOM_TRANSCODE.map((t) => t[0]))].every(
  (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0,
);

const PHI_FILENAME = `${SYNTH_PHI_MARKER}^DOE^JOHN_1970-01-01.dcm`;
const firstFile = (dir: string, ext: RegExp): string => {
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile() && ext.test(e.name)) return join(e.parentPath, e.name);
  throw new Error(`no ${ext} file under ${dir}`);
};
const bytesOf = (p: string): Uint8Array => new Uint8Array(readFileSync(p));
const post = (url: string, body: Uint8Array | FormData, type?: string): Promise<Response> =>
  fetch(url, {
    method: 'POST',
    body: body instanceof FormData ? body : Buffer.from(body),
    ...(type !== undefined ? { headers: { 'content-type': type } } : {}),
  });
const form = (bytes: Uint8Array, filename: string, type = 'application/octet-stream'): FormData => {
  const f = new FormData();
  f.append('file', new Blob([Buffer.from(bytes)], { type }), filename);
  return f;
};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mcx-serve-'));
  modelDir = join(root, 'model');
  await writeTestModel(modelDir);
  const synth = join(root, 'synth');
  await synthesize({
    out: synth,
    counts: { nih: 1, rsna: 2, siim: 1, covid: 3 },
    size: 128,
    seed: 4,
    siim: { transferSyntax: 'explicit-vr-little-endian' },
  });
  png = bytesOf(join(synth, 'nih', 'images', '00000001_000.png'));
  jpeg = bytesOf(firstFile(join(synth, 'covid', 'images'), /\.jpe?g$/));
  dicoms = [bytesOf(firstFile(join(synth, 'rsna'), /\.dcm$/)), bytesOf(firstFile(join(synth, 'siim'), /\.dcm$/))];
  // The fake PHI is really in the files, so the log checks below can fail.
  for (const d of dicoms) expect(Buffer.from(d).includes(SYNTH_PHI_MARKER)).toBe(true);
  const film = decodeImage(png);
  const S = 2048;
  const up = new Uint8Array(S * S);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++)
      up[y * S + x] = film.data[Math.floor((y * film.height) / S) * film.width + Math.floor((x * film.width) / S)]!;
  bigPng = renderOverlayPng({ width: S, height: S, data: up }, { boxes: [], mask: null });
  server = await startServer({
    model: modelDir,
    port: 0,
    concurrency: 2,
    logStream: { write: (l: string) => logLines.push(l) },
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('startServer: predictions', () => {
  it('answers /healthz and /v1/model', async () => {
    const h = await fetch(`${server.url}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toMatchObject({ status: 'ok', inFlight: 0, concurrency: 2 });
    const m = (await (await fetch(`${server.url}/v1/model`)).json()) as {
      classNames: string[];
      inputSize: number;
      checksum: string;
    };
    expect(m.classNames).toHaveLength(14);
    expect(m.inputSize).toBe(64);
    expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('runs a PNG, a JPEG and DICOMs sent as raw bodies and as multipart files', async () => {
    // One at a time: the server admits 2 at once and this test is about formats, not load.
    const cases: [string, () => Promise<Response>, string][] = [
      ['png raw', () => post(`${server.url}/v1/predict`, png, 'image/png'), 'png'],
      ['jpeg raw', () => post(`${server.url}/v1/predict`, jpeg, 'application/octet-stream'), 'jpeg'],
      ['dicom raw', () => post(`${server.url}/v1/predict`, dicoms[0]!, 'application/dicom'), 'dicom'],
      [
        'dicom multipart',
        () => post(`${server.url}/v1/predict`, form(dicoms[1]!, PHI_FILENAME, 'application/dicom')),
        'dicom',
      ],
      ['png multipart', () => post(`${server.url}/v1/predict`, form(png, 'film.png')), 'png'],
    ];
    for (const [name, send, format] of cases) {
      const res = await send();
      const text = await res.text();
      expect(res.status, `${name}: ${text}`).toBe(200);
      const body = JSON.parse(text) as {
        image: { format: string; width: number; height: number };
        probabilities: Record<string, number>;
        gate: { positive: boolean };
        boxes: unknown[];
        maskRle: string;
        mask: { width: number } | null;
        dicom?: { modality?: string };
        model: { checksum: string };
      };
      expect(body.image.format, name).toBe(format);
      expect(body.image.width).toBe(128);
      expect(Object.keys(body.probabilities)).toHaveLength(14);
      for (const p of Object.values(body.probabilities)) expect(p).toBeGreaterThanOrEqual(0);
      expect(body.gate.positive).toBe(true);
      expect(body.mask?.width).toBe(128);
      expect(body.maskRle).toMatch(/^(-1|\d+( \d+)*)$/);
      if (format === 'dicom') expect(body.dicom?.modality).toBeDefined();
      expect(text).not.toContain(SYNTH_PHI_MARKER);
    }
  });

  it.skipIf(!haveDicomTools)(
    'reads every compressed DICOM transfer syntax (serve and screen share decodeUpload), lossless ones as the uncompressed file',
    async () => {
      // the SIIM DICOM is native explicit VR LE; dcmtk / gdcm write it in the other syntaxes
      const native = join(root, 'siim-native.dcm');
      writeFileSync(native, dicoms[1]!);
      const ask = async (bytes: Uint8Array): Promise<Record<string, number>> => {
        const res = await post(`${server.url}/v1/predict`, bytes, 'application/dicom');
        expect(res.status, await res.clone().text()).toBe(200);
        return ((await res.json()) as { probabilities: Record<string, number> }).probabilities;
      };
      const ref = await ask(dicoms[1]!);
      for (const [tool, args] of DICOM_TRANSCODE) {
        const out = join(root, `siim-${tool}-${args.join('')}.dcm`);
        expect(spawnSync(tool, [...args, native, out]).status, `${tool} ${args.join(' ')}`).toBe(0);
        const bytes = new Uint8Array(readFileSync(out));
        expect(await ask(bytes), `${tool} ${args.join(' ')}`).toEqual(ref);
        // without sharp (decoder null) as with it: the pure-JS path reads the syntax too
        const js = await decodeUpload(bytes, 'upload', false, null);
        expect([js.format, js.image.width, js.dicom?.rows]).toEqual(['dicom', 128, 128]);
      }
    },
  );

  it('gives the same answer for the same image sent concurrently', async () => {
    const answers = await Promise.all(
      Array.from({ length: 2 }, () =>
        post(`${server.url}/v1/predict`, png, 'image/png').then(
          (r) => r.json() as Promise<{ probabilities: unknown; boxes: unknown; maskRle: string }>,
        ),
      ),
    );
    expect(answers[1]!.probabilities).toEqual(answers[0]!.probabilities);
    expect(answers[1]!.boxes).toEqual(answers[0]!.boxes);
    expect(answers[1]!.maskRle).toBe(answers[0]!.maskRle);
  });

  it('draws the overlay PNG at the image size', async () => {
    const res = await post(`${server.url}/v1/overlay`, form(dicoms[0]!, PHI_FILENAME));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const img = decodePng(new Uint8Array(await res.arrayBuffer()));
    expect([img.width, img.height]).toEqual([128, 128]);
  });

  it('refuses a malformed DICOM, garbage, an empty body and an unknown content type with 4xx JSON', async () => {
    const truncated = dicoms[0]!.subarray(0, Math.floor(dicoms[0]!.length * 0.6));
    const headerOnly = dicoms[1]!.subarray(0, 600);
    for (const [bytes, pattern] of [
      [truncated, /DICOM|JPEG|pixel/i],
      [headerOnly, /DICOM|pixel/i],
      [new Uint8Array(500).fill(3), /no pixel data/],
    ] as const) {
      const res = await post(`${server.url}/v1/predict`, form(bytes, PHI_FILENAME, 'application/dicom'));
      const text = await res.text();
      expect(res.status, text).toBe(400);
      const body = JSON.parse(text) as { error: string; message: string };
      expect(body.error).toBe('DataError');
      expect(body.message).toMatch(pattern);
      expect(text).not.toContain(SYNTH_PHI_MARKER);
    }
    const garbage = await post(`${server.url}/v1/predict`, form(new Uint8Array(500).fill(3), 'scan.bin'));
    expect(garbage.status).toBe(400);
    expect(((await garbage.json()) as { message: string }).message).toMatch(
      /format is not recognised.*expected PNG, JPEG or DICOM/,
    );
    expect((await post(`${server.url}/v1/predict`, new Uint8Array(0), 'image/png')).status).toBe(400);
    expect((await post(`${server.url}/v1/predict`, png, 'application/xml')).status).toBe(415);
    expect((await post(`${server.url}/v1/predict`, png, 'text/plain')).status).toBe(400);
  });

  it('writes JSON logs with request lines and no identifying DICOM value or client file name', () => {
    const records = logLines.map(
      (l) => JSON.parse(l) as { msg: string; path?: string; format?: string; req?: { path: string } },
    );
    expect(records.some((r) => r.msg === 'inference' && r.format === 'dicom')).toBe(true);
    expect(records.some((r) => r.msg === 'request refused')).toBe(true);
    const all = logLines.join('');
    expect(all).not.toContain(SYNTH_PHI_MARKER);
    expect(all).not.toContain('DOE');
  });
});

describe('startServer: limits', () => {
  it('validates its options', async () => {
    await expect(startServer({ model: modelDir, concurrency: 0 })).rejects.toBeInstanceOf(ConfigError);
    await expect(startServer({ model: join(root, 'nope') })).rejects.toThrow(/Model not found/);
  });

  it('answers 413 to uploads above maxBody (raw, multipart, and by Content-Length before reading)', async () => {
    const small = await startServer({ model: modelDir, port: 0, maxBody: 4096, logLevel: 'silent' });
    try {
      const big = new Uint8Array(70_000).fill(1);
      const raw = await post(`${small.url}/v1/predict`, big, 'application/octet-stream');
      expect(raw.status).toBe(413);
      expect(await raw.json()).toMatchObject({ error: 'PayloadTooLarge' });
      expect((await post(`${small.url}/v1/predict`, form(new Uint8Array(8000).fill(1), 'a.png'))).status).toBe(413);
      expect((await post(`${small.url}/v1/predict`, form(big, 'a.png'))).status).toBe(413);
      expect((await post(`${small.url}/v1/predict`, png, 'image/png')).status).toBe(png.length <= 4096 ? 200 : 413);
      expect(small.inFlight()).toBe(0);
    } finally {
      await small.close();
    }
  });

  it('answers 503 with Retry-After when all slots are busy, and frees them afterwards', async () => {
    const one = await startServer({ model: modelDir, port: 0, concurrency: 1, logLevel: 'silent' });
    try {
      const responses = await Promise.all(
        Array.from({ length: 6 }, () => post(`${one.url}/v1/predict`, bigPng, 'image/png')),
      );
      const codes = responses.map((r) => r.status).sort();
      expect(codes).toContain(200);
      expect(codes).toContain(503);
      expect(codes.every((c) => c === 200 || c === 503)).toBe(true);
      for (const r of responses) {
        if (r.status === 503) {
          expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
          expect(await r.json()).toMatchObject({ error: 'Busy' });
        } else expect(((await r.json()) as { image: { width: number } }).image.width).toBe(2048);
      }
      expect(one.inFlight()).toBe(0);
      expect((await post(`${one.url}/v1/predict`, png, 'image/png')).status).toBe(200);
    } finally {
      await one.close();
    }
  });

  it('answers 408 to a request whose upload is not complete within the timeout (a stalled upload), and frees its slot', async () => {
    const slow = await startServer({ model: modelDir, port: 0, concurrency: 1, timeout: 300, logLevel: 'silent' });
    try {
      const { request } = await import('node:http');
      const t0 = Date.now();
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          `${slow.url}/v1/predict`,
          { method: 'POST', headers: { 'content-type': 'image/png', 'content-length': String(png.length) } },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        // Half the image, then nothing: the server must not wait for the rest forever.
        req.write(png.subarray(0, png.length >> 1));
      });
      expect(answer.status).toBe(408);
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'RequestTimeout' });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
      const t1 = Date.now();
      while (slow.inFlight() > 0 && Date.now() - t1 < 5000) await new Promise((r) => setTimeout(r, 10));
      expect(slow.inFlight()).toBe(0);
      const t2 = Date.now();
      await slow.close();
      expect(Date.now() - t2).toBeLessThan(5000);
    } finally {
      await slow.close();
    }
  });
});

describe('multichexnet serve as a process', () => {
  it('finishes the requests in flight on SIGTERM, then refuses new ones and exits 0', async () => {
    const proc = spawnCli(['serve', '--model', modelDir, '--port', '0', '--concurrency', '4', '--threads', '1']);
    try {
      await waitForOutput(proc, (_out, err) => /listening on http:\/\/127\.0\.0\.1:\d+/.test(err));
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(proc.stderr())![1]!;
      const inflight = [
        post(`${url}/v1/predict`, bigPng, 'image/png'),
        post(`${url}/v1/predict`, bigPng, 'image/png'),
        post(`${url}/v1/predict`, form(dicoms[0]!, PHI_FILENAME)),
        post(`${url}/v1/predict`, bigPng, 'image/png'),
      ];
      await waitForOutput(proc, (out) => (out.match(/"msg":"incoming request"/g) ?? []).length >= 4);
      expect((proc.stdout().match(/"msg":"inference"/g) ?? []).length).toBeLessThan(4);
      proc.child.kill('SIGTERM');
      const responses = await Promise.all(inflight);
      expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      for (const r of responses)
        expect(Object.keys(((await r.json()) as { probabilities: object }).probabilities)).toHaveLength(14);
      const t0 = Date.now();
      expect(await proc.exited).toBe(0);
      // It waited for the requests, not for idle keep-alive connections to time out.
      expect(Date.now() - t0).toBeLessThan(10_000);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
      expect(proc.stdout()).toContain('"msg":"draining"');
      expect(proc.stdout() + proc.stderr()).not.toContain(SYNTH_PHI_MARKER);
    } finally {
      if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
    }
  }, 60_000);
});
