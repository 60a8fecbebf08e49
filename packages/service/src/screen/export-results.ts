import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { once } from 'node:events';
import { DataError, parseConfig } from '@multichexnet/core';
import { toRsnaPredictionString } from '@multichexnet/head-det';
import { connectRedis, resolveRedis, screenKeys } from './redis';
import type { StoredResult } from './results-store';
import { ExportOptionsSchema, type ExportOptions, type LineSink } from './screen-options';

/** What {@link exportResults} wrote. */
export interface ExportSummary {
  format: 'csv' | 'jsonl' | 'rsna' | 'siim';
  /** Rows written (one per image id with a result). */
  rows: number;
  /** Ids without a result (failed, or not processed yet): left out. */
  missing: number;
  /** The file written, or null when the text went to a stream. */
  path: string | null;
}

const HMGET_CHUNK = 500;

/** RFC 4180 field: quoted when it holds a comma, quote or line break. Hand-written: three lines, no dependency. */
function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * Writes the stored results of a queue, one row per image id (sorted by id), in one of four formats:
 * `csv` (id, sha256, gate probability and decision, one `p_<class>` column per class, RSNA PredictionString,
 * SIIM EncodedPixels, then `ood_score`, `ood_decision` (in-distribution / refused / flagged, '' unchecked) and
 * `calibrated`), `jsonl` (every field), `rsna` (`patientId,PredictionString`: "confidence x y width height"
 * repeated, '' without boxes) or `siim` (`ImageId,EncodedPixels`, `-1` without a mask). Ids are the file stems
 * (or a manifest's ids), which is what both submissions use (`{patientId}.dcm`, `{ImageId}.dcm`).
 *
 * @example
 * await exportResults({ redis: 'rediss://worker:pw@10.0.0.5:6380', redisTls: { ca: 'ca.pem' }, queue: 'rsna', format: 'rsna', out: 'submission.csv' });
 */
export async function exportResults(options: ExportOptions): Promise<ExportSummary> {
  const opts = parseConfig(ExportOptionsSchema, options, 'export options');
  const endpoint = resolveRedis(opts);
  const keys = screenKeys(opts.queue);
  const redis = await connectRedis(endpoint);
  let sink: LineSink;
  let finish: () => Promise<void>;
  let abort: () => Promise<void> = async () => {};
  if (opts.out !== undefined) {
    const out = opts.out;
    await mkdir(dirname(out), { recursive: true });
    const tmp = `${out}.tmp-${process.pid}`;
    const stream = createWriteStream(tmp);
    sink = { write: (text: string) => stream.write(text) || once(stream, 'drain') };
    finish = async () => {
      stream.end();
      await once(stream, 'finish');
      await rename(tmp, out);
    };
    abort = async () => {
      stream.destroy();
      await rm(tmp, { force: true });
    };
  } else {
    sink = opts.stream ?? process.stdout;
    finish = async () => {};
  }
  try {
    const ids = await redis.hgetall(keys.ids);
    const meta = await redis.hgetall(keys.meta);
    const classNames: string[] = meta.classNames !== undefined ? (JSON.parse(meta.classNames) as string[]) : [];
    if (opts.format === 'siim' && meta.hasSeg === '0') {
      throw new DataError('SIIM export needs a model with a segmentation head', {
        field: 'format',
        expected: 'a queue screened by a model with CheXSeg',
        found: 'a model without seg head',
      });
    }
    const header: Record<typeof opts.format, string | null> = {
      csv: [
        'id',
        'sha256',
        'gate_probability',
        'gate_positive',
        ...classNames.map((c) => `p_${c}`),
        'PredictionString',
        'EncodedPixels',
        'ood_score',
        'ood_decision',
        'calibrated',
      ]
        .map(csvField)
        .join(','),
      jsonl: null,
      rsna: 'patientId,PredictionString',
      siim: 'ImageId,EncodedPixels',
    };
    const h = header[opts.format];
    if (h !== null) await sink.write(`${h}\n`);
    const sorted = Object.keys(ids).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let rows = 0;
    let missing = 0;
    for (let i = 0; i < sorted.length; i += HMGET_CHUNK) {
      const chunk = sorted.slice(i, i + HMGET_CHUNK);
      const values = await redis.hmget(keys.results, ...chunk.map((id) => ids[id]!));
      let text = '';
      chunk.forEach((id, j) => {
        const raw = values[j];
        if (raw === null || raw === undefined) {
          missing++;
          return;
        }
        text += `${formatRow(opts.format, id, JSON.parse(raw) as StoredResult, classNames)}\n`;
        rows++;
      });
      if (text !== '') await sink.write(text);
    }
    await finish();
    return { format: opts.format, rows, missing, path: opts.out ?? null };
  } catch (e) {
    await abort();
    throw e;
  } finally {
    redis.disconnect();
  }
}

function formatRow(
  format: 'csv' | 'jsonl' | 'rsna' | 'siim',
  id: string,
  r: StoredResult,
  classNames: string[],
): string {
  switch (format) {
    case 'jsonl':
      return JSON.stringify({ id, ...r });
    case 'rsna':
      return `${csvField(id)},${toRsnaPredictionString(r.boxes)}`;
    case 'siim':
      return `${csvField(id)},${r.maskRle === '' ? '-1' : r.maskRle}`;
    case 'csv':
      // ood_decision: in-distribution, refused or flagged ('' where the model or the worker did not check)
      return [
        id,
        r.sha256,
        String(r.gate.probability),
        String(r.gate.positive),
        ...classNames.map((c) => String(r.probabilities[c] ?? '')),
        toRsnaPredictionString(r.boxes),
        r.maskRle,
        r.ood === undefined ? '' : String(r.ood.score),
        r.ood?.decision ?? '',
        String(r.calibrated === true),
      ]
        .map(csvField)
        .join(',');
  }
}
