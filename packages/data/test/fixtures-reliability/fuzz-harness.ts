/*
 * The fuzz loop, run in a child process by test/fuzz-codecs.test.ts (`node --conditions=source --import tsx`), so
 * that the parent can time-box every input: a decoder stuck in a loop cannot be interrupted from its own thread.
 *
 * Protocol on stdout, one line each: `S <i> <reader> <base> <mutations>` before case i runs, `F <json>` for a case
 * that broke a rule, and `R <json>` with the totals at the end. Arguments: seed, number of cases.
 */
import { DataError, createRng, deriveSeed, type Rng } from '@multichexnet/core';
import { decodePng } from '../../src/codecs/png';
import { decodeJpeg } from '../../src/codecs/jpeg';
import { decodeDicomWithMeta } from '../../src/codecs/dicom';
import { readDicomMeta } from '../../src/codecs/dicom-meta';
import { rleDecode } from '../../src/codecs/rle';
import { assertRadiograph } from '../../src/codecs/assert-radiograph';
import type { DecodedImage } from '../../src/codecs/decoded-image';
import { fitImage } from '../../src/preprocess/fit-sample';
import { createSharpDecoder } from '../../src/node/sharp-decoder';
import { parseNihIndex, parseNihBoxes } from '../../src/datasets/nih';
import { parseRsnaLabels } from '../../src/datasets/rsna';
import { parseSiimRle } from '../../src/datasets/siim';
import { parseCovidMetadata } from '../../src/datasets/covid';
import { realInputs, rleInputs, syntheticImageInputs, type BaseInput } from './bases';
import { labelTextInputs, type TextInput } from './label-texts';
import { mutateBytes, mutateText } from './mutate';

/** What one case did. */
type Outcome = 'ok' | 'DataError' | 'crash' | 'invariant';

/** The readers under test. */
export const READERS = ['png', 'jpeg', 'dicom', 'rle', 'csv'] as const;
export type Reader = (typeof READERS)[number];

/** Totals the harness reports. */
export interface FuzzReport {
  seed: number;
  cases: number;
  byReader: Record<Reader, { cases: number; ok: number; dataError: number }>;
  /** Cases that threw anything but a DataError, or returned an image breaking the invariants. */
  failures: { i: number; reader: Reader; base: string; mutations: string[]; problem: string }[];
  maxCaseMs: number;
  totalMs: number;
  /** Peak resident memory of this process, bytes. */
  maxRssBytes: number;
  /** Real files among the bases. */
  realBases: string[];
}

/** A decoded image must be whole: integer size, one finite value per pixel in [0, maxValue]. */
function invariantProblem(img: DecodedImage): string | null {
  const { width, height, data, maxValue } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0)
    return `size ${width}x${height}`;
  if (data.length !== width * height) return `${data.length} values for ${width}x${height}`;
  if (!Number.isFinite(maxValue) || maxValue <= 0) return `maxValue ${maxValue}`;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (!(v >= 0 && v <= maxValue * (1 + 1e-6))) return `pixel ${i} = ${v} outside [0, ${maxValue}]`;
  }
  return null;
}

const FIT = { size: 32, fit: 'letterbox', interpolation: 'area' } as const;
/** A DataError is one line a person reads: never a dump of the file (dicom-parser's errors once carried every byte). */
const MAX_MESSAGE = 1000;

/** Decoded image → the checks every consumer runs next; returns a problem or null. */
function afterDecode(img: DecodedImage, file: string): string | null {
  const bad = invariantProblem(img);
  if (bad !== null) return bad;
  assertRadiograph(img, file);
  const fitted = fitImage(img, FIT);
  for (const v of fitted.data) if (!Number.isFinite(v)) return 'fitImage produced a non-finite value';
  return null;
}

async function main(): Promise<void> {
  const seed = Number(process.argv[2] ?? 1);
  const cases = Number(process.argv[3] ?? 1000);
  const started = performance.now();
  const images = await syntheticImageInputs();
  const real = realInputs();
  const rles = rleInputs();
  const texts: TextInput[] = labelTextInputs();
  const sharpDecoder = await createSharpDecoder();
  const byContainer = (c: BaseInput['container'], pool: BaseInput[]): BaseInput[] =>
    pool.filter((b) => b.container === c);

  const report: FuzzReport = {
    seed,
    cases,
    byReader: Object.fromEntries(READERS.map((r) => [r, { cases: 0, ok: 0, dataError: 0 }])) as FuzzReport['byReader'],
    failures: [],
    maxCaseMs: 0,
    totalMs: 0,
    maxRssBytes: 0,
    realBases: real.map((r) => r.name),
  };
  // Reader mix: the three image containers get most cases, RLE and the label tables the rest.
  const mix: Reader[] = [
    'png',
    'png',
    'png',
    'jpeg',
    'jpeg',
    'jpeg',
    'dicom',
    'dicom',
    'dicom',
    'dicom',
    'rle',
    'rle',
    'csv',
  ];

  for (let i = 0; i < cases; i++) {
    const rng: Rng = createRng(deriveSeed(seed, `case/${i}`));
    const reader = rng.pick(mix);
    let base = '';
    let mutations: string[] = [];
    let run: () => Promise<string | null>;
    if (reader === 'rle') {
      const r = rng.pick(rles);
      const m = mutateText(r.rle, rng);
      base = `rle:${r.width}x${r.height}`;
      mutations = m.mutations;
      run = async () => {
        const mask = rleDecode(m.text, r.width, r.height);
        return mask.data.length === r.width * r.height && mask.data.every((v) => v === 0 || v === 1)
          ? null
          : 'mask not binary or wrong size';
      };
    } else if (reader === 'csv') {
      const t = rng.pick(texts);
      const m = mutateText(t.text, rng);
      base = t.name;
      mutations = m.mutations;
      run = async () => {
        const sink = (): void => {};
        if (t.kind === 'nih') parseNihIndex(m.text, 'fuzz.csv', sink, { demographics: true });
        else if (t.kind === 'nih-boxes') parseNihBoxes(m.text, 'fuzz.csv', sink);
        else if (t.kind === 'rsna') parseRsnaLabels(m.text, 'fuzz.csv', sink);
        else if (t.kind === 'siim') parseSiimRle(m.text, 'fuzz.csv', sink);
        else
          parseCovidMetadata(m.text, 'fuzz.csv', sink, {
            views: ['PA', 'AP'],
            modalities: ['X-ray'],
            excludeFindings: ['todo'],
          });
        return null;
      };
    } else {
      // A real file now and then: they are large, so they are few.
      const realPool = byContainer(reader, real);
      const pool = realPool.length > 0 && rng.bernoulli(0.03) ? realPool : byContainer(reader, images);
      const b = rng.pick(pool);
      const m = mutateBytes(b.bytes, b.container, rng);
      base = b.name;
      mutations = m.mutations;
      const file = `fuzz-${i}.${reader === 'dicom' ? 'dcm' : reader === 'jpeg' ? 'jpg' : 'png'}`;
      const useSharp = sharpDecoder !== null && rng.bernoulli(0.2);
      run = async () => {
        if (useSharp) {
          const got = await sharpDecoder!(m.bytes, file, { voi: true });
          if (got !== null) return afterDecode(got.image, file);
        }
        if (reader === 'png') return afterDecode(decodePng(m.bytes, file), file);
        if (reader === 'jpeg') return afterDecode(decodeJpeg(m.bytes, file), file);
        readDicomMeta(m.bytes, file);
        return afterDecode(decodeDicomWithMeta(m.bytes, file).image, file);
      };
    }
    process.stdout.write(`S ${i} ${reader} ${base} ${mutations.join('+')}\n`);
    const t0 = performance.now();
    let outcome: Outcome;
    let problem = '';
    try {
      const p = await run();
      outcome = p === null ? 'ok' : 'invariant';
      problem = p ?? '';
    } catch (e) {
      if (e instanceof DataError && e.message.length <= MAX_MESSAGE) outcome = 'DataError';
      else if (e instanceof DataError) {
        outcome = 'invariant';
        problem = `a ${e.message.length}-character DataError message: ${e.message.slice(0, 200)}...`;
      } else {
        outcome = 'crash';
        problem = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
    }
    const ms = performance.now() - t0;
    report.maxCaseMs = Math.max(report.maxCaseMs, ms);
    if (ms > 200)
      process.stdout.write(`T ${i} ${ms.toFixed(0)} ms rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB\n`);
    const tally = report.byReader[reader];
    tally.cases++;
    if (outcome === 'ok') tally.ok++;
    else if (outcome === 'DataError') tally.dataError++;
    else {
      const f = { i, reader, base, mutations, problem: `${outcome}: ${problem}` };
      report.failures.push(f);
      process.stdout.write(`F ${JSON.stringify(f)}\n`);
    }
  }
  report.totalMs = performance.now() - started;
  report.maxRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`R ${JSON.stringify(report)}\n`);
}

await main();
