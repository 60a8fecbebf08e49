import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { CHESTXRAY14_CLASSES, ConfigError, createRng } from '@multichexnet/core';
import dicomParser from 'dicom-parser';
import { gunzipSync, unzipSync } from 'fflate';
import Papa from 'papaparse';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rleDecode } from '@multichexnet/data';
import { SynthConfigSchema } from '../src/config';
import { planRsnaImage } from '../src/rsna-writer';
import { planSiimImage } from '../src/siim-writer';
import { renderFilm } from '../src/render';
import { synthesize, type SynthResult } from '../src/synthesize';
import { SYNTH_PHI_MARKER } from '../src/phi';
import { missingMessage, readGzText, realFile } from './realdata';

const SIZE = 128;
const COUNTS = { nih: 30, rsna: 24, siim: 24, covid: 18 };
const base = { counts: COUNTS, size: SIZE, seed: 11 };

let dirA = '';
let dirB = '';
let dirC = '';
let result: SynthResult;
const progress: Array<[number, number]> = [];

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out.sort();
}
const text = (p: string): string => readFileSync(p, 'utf8');
const lines = (p: string): string[] =>
  text(p)
    .split('\n')
    .filter((l, i, a) => !(l === '' && i === a.length - 1));
const firstLine = (s: string): string => s.slice(0, s.indexOf('\n')).replace(/\r$/, '');

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'synth-files-'));
  dirA = join(root, 'a');
  dirB = join(root, 'b');
  dirC = join(root, 'c');
  result = await synthesize({ ...base, out: dirA, onProgress: (d, t) => progress.push([d, t]) });
  await synthesize({ ...base, out: dirB });
  await synthesize({
    ...base,
    out: dirC,
    seed: 12,
    rsna: { transferSyntax: 'explicit-vr-little-endian' },
    siim: { leadingSpace: false },
    nih: { header: 'txv' },
  });
});

afterAll(() => {
  for (const d of [dirA, dirB, dirC]) if (d !== '') rmSync(join(d, '..'), { recursive: true, force: true });
});

describe('synthesize: configuration', () => {
  it('resolves defaults and rejects bad fields with a ConfigError naming them', async () => {
    const cfg = SynthConfigSchema.parse({ out: 'x' });
    expect(cfg.size).toBe(256);
    expect(cfg.counts).toEqual({ nih: 200, rsna: 100, siim: 100, covid: 60 });
    expect(cfg.annotationSpace).toBe('image');
    const cases: Array<[unknown, string]> = [
      [{ out: 'x', size: 100 }, 'size'],
      [{ out: 'x', size: Number.NaN }, 'size'],
      [{ out: 'x', counts: { nih: -1 } }, 'counts.nih'],
      [{ out: 'x', nih: { header: '2019' } }, 'nih.header'],
      [{ out: 'x', siim: { positiveFraction: 1.5 } }, 'siim.positiveFraction'],
      [{ out: 'x', onProgress: 'bar' }, 'onProgress'],
      [{ out: 'x', colour: true }, ''],
      [{ size: 256 }, 'out'],
    ];
    for (const [bad, field] of cases) {
      const err = await synthesize(bad as never).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(bad)).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.map((i) => i.path)).toContain(field);
    }
  });

  it('writes the resolved config to synth.json, and it parses back to the same config', () => {
    const manifest = JSON.parse(text(join(dirA, 'synth.json')));
    const { out, ...relocatable } = result.config;
    expect(out).toBe(dirA);
    expect(manifest.config).toEqual(relocatable);
    expect(SynthConfigSchema.parse({ ...manifest.config, out })).toEqual(result.config);
    const nihManifest = JSON.parse(text(join(dirA, 'nih', 'synth.json')));
    expect(nihManifest.imageSize).toEqual({ width: SIZE, height: SIZE });
    expect(nihManifest.annotationSize).toEqual({ width: SIZE, height: SIZE });
  });

  it('reports progress once per image, ending at the total', () => {
    const total = COUNTS.nih + COUNTS.rsna + COUNTS.siim + COUNTS.covid;
    expect(progress.length).toBe(total);
    expect(progress[progress.length - 1]).toEqual([total, total]);
    expect(progress.every(([d], i) => d === i + 1)).toBe(true);
  });
});

describe('synthesize: determinism', () => {
  it('the same seed writes byte-identical files', () => {
    const a = walk(dirA).map((p) => relative(dirA, p));
    const b = walk(dirB).map((p) => relative(dirB, p));
    expect(b).toEqual(a);
    for (const p of a) expect(readFileSync(join(dirB, p)).equals(readFileSync(join(dirA, p))), p).toBe(true);
  });

  it('another seed writes different labels and images', () => {
    expect(text(join(dirC, 'rsna', 'stage_2_train_labels.csv'))).not.toBe(
      text(join(dirA, 'rsna', 'stage_2_train_labels.csv')),
    );
    const a = readFileSync(join(dirA, 'nih', 'images', '00000001_000.png'));
    const c = readFileSync(join(dirC, 'nih', 'images', '00000001_000.png'));
    expect(a.equals(c)).toBe(false);
  });
});

describe('synthesize: NIH ChestX-ray14 layout', () => {
  const real = realFile('Data_Entry_2017_v2020.csv.gz');
  it.skipIf(real === null)(
    'headers: 2017 / v2020 / torchxrayvision variants against the real index header',
    async () => {
      const realHeader = firstLine(readGzText(real as string));
      expect(firstLine(text(join(dirC, 'nih', 'Data_Entry_2017_v2020.csv')))).toBe(realHeader);
      expect(firstLine(text(join(dirA, 'nih', 'Data_Entry_2017.csv')))).toBe(`${realHeader},`);
      const v2020 = join(dirA, '..', 'v2020');
      await synthesize({
        out: v2020,
        counts: { nih: 1, rsna: 0, siim: 0, covid: 0 },
        size: 64,
        nih: { header: 'v2020' },
      });
      expect(firstLine(text(join(v2020, 'nih', 'Data_Entry_2017_v2020.csv')))).toBe(
        `${realHeader.replace('Patient Gender', 'Patient Sex')},`,
      );
    },
  );
  if (real === null) it.skip(missingMessage('Data_Entry_2017_v2020.csv.gz'), () => {});

  it('rows have the real shape: names, labels, ids, ages, sexes, views, sizes and spacings', () => {
    const rows = lines(join(dirA, 'nih', 'Data_Entry_2017.csv')).slice(1);
    expect(rows.length).toBe(COUNTS.nih);
    const known = new Set<string>(CHESTXRAY14_CLASSES);
    let findings = 0;
    for (const row of rows) {
      const f = row.split(',');
      expect(f.length).toBe(12);
      expect(f[11]).toBe('');
      expect(f[0]).toMatch(/^\d{8}_\d{3}\.png$/);
      expect(Number(f[0]?.slice(0, 8))).toBe(Number(f[3]));
      expect(f[3]).toMatch(/^[1-9]\d*$/);
      expect(f[2]).toMatch(/^\d+$/);
      expect(f[4]).toMatch(/^\d+$/);
      expect(f[5]).toMatch(/^[MF]$/);
      expect(f[6]).toMatch(/^(PA|AP)$/);
      expect(f[7]).toMatch(/^\d{4}$/);
      expect(f[9]).toMatch(/^0\.\d+$/);
      expect(f[9]).toBe(f[10]);
      const labels = (f[1] as string).split('|');
      if (labels[0] === 'No Finding') expect(labels.length).toBe(1);
      else {
        findings++;
        for (const l of labels) expect(known.has(l), l).toBe(true);
      }
      const png = PNG.sync.read(readFileSync(join(dirA, 'nih', 'images', f[0] as string)));
      expect([png.width, png.height]).toEqual([SIZE, SIZE]);
      expect(png.colorType).toBe(0);
      expect(png.depth).toBe(8);
    }
    expect(findings).toBeGreaterThan(0);
  });

  const realBoxes = realFile('BBox_List_2017.csv.gz');
  it('BBox_List_2017.csv: real header, six fields, the eight box labels, boxes inside the image of a labelled finding', () => {
    const all = lines(join(dirA, 'nih', 'BBox_List_2017.csv'));
    if (realBoxes !== null) expect(all[0]).toBe(firstLine(readGzText(realBoxes)));
    const index = new Map(
      lines(join(dirA, 'nih', 'Data_Entry_2017.csv'))
        .slice(1)
        .map((r) => [r.split(',')[0], (r.split(',')[1] as string).split('|')]),
    );
    const labels = new Set([
      'Atelectasis',
      'Effusion',
      'Cardiomegaly',
      'Infiltrate',
      'Pneumonia',
      'Pneumothorax',
      'Mass',
      'Nodule',
    ]);
    expect(all.length).toBeGreaterThan(1);
    for (const row of all.slice(1)) {
      const f = row.split(',');
      expect(f.length).toBe(6);
      expect(labels.has(f[1] as string)).toBe(true);
      expect(index.get(f[0])).toContain(f[1] === 'Infiltrate' ? 'Infiltration' : f[1]);
      const [x, y, w, h] = f.slice(2).map(Number) as [number, number, number, number];
      expect(x).toBeGreaterThanOrEqual(0);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(w).toBeGreaterThan(0);
      expect(x + w).toBeLessThanOrEqual(SIZE);
      expect(y + h).toBeLessThanOrEqual(SIZE);
    }
  });

  it('train_val_list.txt / test_list.txt split by patient and cover every image once', () => {
    const tv = lines(join(dirA, 'nih', 'train_val_list.txt'));
    const te = lines(join(dirA, 'nih', 'test_list.txt'));
    const names = lines(join(dirA, 'nih', 'Data_Entry_2017.csv'))
      .slice(1)
      .map((r) => r.split(',')[0]);
    expect([...tv, ...te].sort()).toEqual(names.sort());
    const tvPatients = new Set(tv.map((n) => n.slice(0, 8)));
    for (const n of te) expect(tvPatients.has(n.slice(0, 8))).toBe(false);
    expect(te.length).toBeGreaterThan(0);
  });
});

describe('synthesize: RSNA layout', () => {
  it('stage_2_train_labels.csv: real header, `,,,,,0` negatives, `.0` boxes inside the image, class rows aligned', () => {
    const real = realFile('kaggle_stage_2_train_labels.csv.zip');
    const rows = lines(join(dirA, 'rsna', 'stage_2_train_labels.csv'));
    if (real !== null) {
      const zip = unzipSync(readFileSync(real));
      expect(rows[0]).toBe(firstLine(new TextDecoder().decode(Object.values(zip)[0])));
    }
    const classes = lines(join(dirA, 'rsna', 'stage_2_detailed_class_info.csv'));
    expect(classes[0]).toBe('patientId,class');
    expect(classes.length).toBe(rows.length);
    let positives = 0;
    rows.slice(1).forEach((row, k) => {
      const [id, cls] = (classes[k + 1] as string).split(',');
      expect(row.startsWith(`${id},`)).toBe(true);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      if (row.endsWith(',1')) {
        positives++;
        expect(row).toMatch(/^[0-9a-f-]{36},\d+\.0,\d+\.0,\d+\.0,\d+\.0,1$/);
        expect(cls).toBe('Lung Opacity');
        const [x, y, w, h] = row.split(',').slice(1, 5).map(Number) as [number, number, number, number];
        expect(x + w).toBeLessThanOrEqual(SIZE);
        expect(y + h).toBeLessThanOrEqual(SIZE);
      } else {
        expect(row).toBe(`${id},,,,,0`);
        expect(['Normal', 'No Lung Opacity / Not Normal']).toContain(cls);
      }
      expect(existsSync(join(dirA, 'rsna', 'stage_2_train_images', `${id}.dcm`))).toBe(true);
    });
    expect(positives).toBeGreaterThan(0);
    const ids = rows.slice(1).map((r) => r.slice(0, 36));
    expect(ids).toEqual(ids.slice().sort());
  });

  it('each box lies over a drawn opacity in the written DICOM (brighter than the same film without findings)', () => {
    const cfg = SynthConfigSchema.parse({
      ...base,
      out: dirC,
      seed: 12,
      rsna: { transferSyntax: 'explicit-vr-little-endian' },
    });
    let checked = 0;
    for (let i = 0; i < COUNTS.rsna; i++) {
      const plan = planRsnaImage(cfg, i);
      if (!plan.positive) continue;
      const ds = dicomParser.parseDicom(
        readFileSync(join(dirC, 'rsna', 'stage_2_train_images', `${plan.patientId}.dcm`)),
      );
      const el = ds.elements['x7fe00010'] as { dataOffset: number; length: number };
      const pixels = new Uint8Array(ds.byteArray.buffer, ds.byteArray.byteOffset + el.dataOffset, el.length);
      const normal = renderFilm({ ...plan.request, findings: [] }, createRng(plan.filmSeed)).pixels;
      const rows = lines(join(dirC, 'rsna', 'stage_2_train_labels.csv')).filter(
        (r) => r.startsWith(plan.patientId) && r.endsWith(',1'),
      );
      for (const r of rows) {
        const [x, y, w, h] = r.split(',').slice(1, 5).map(Number) as [number, number, number, number];
        let diff = 0;
        for (let yy = y; yy < y + h; yy++)
          for (let xx = x; xx < x + w; xx++)
            diff += (pixels[yy * SIZE + xx] as number) - (normal[yy * SIZE + xx] as number);
        expect(diff / (w * h)).toBeGreaterThan(5);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});

/** The DICOM facts every synthetic RSNA/SIIM file must share with the real ones. */
function checkDicom(path: string, jpeg: boolean): dicomParser.DataSet {
  const ds = dicomParser.parseDicom(readFileSync(path));
  expect(ds.string('x00020002')).toBe('1.2.840.10008.5.1.4.1.1.7');
  expect(ds.string('x00020010')).toBe(jpeg ? '1.2.840.10008.1.2.4.50' : '1.2.840.10008.1.2.1');
  expect(ds.string('x00080016')).toBe('1.2.840.10008.5.1.4.1.1.7');
  expect(ds.string('x00080060')).toBe('CR');
  expect(ds.string('x00080064')).toBe('WSD');
  expect(ds.string('x00180015')).toBe('CHEST');
  expect(ds.string('x00280004')).toBe('MONOCHROME2');
  expect(ds.uint16('x00280002')).toBe(1);
  expect(ds.uint16('x00280010')).toBe(SIZE);
  expect(ds.uint16('x00280011')).toBe(SIZE);
  expect([ds.uint16('x00280100'), ds.uint16('x00280101'), ds.uint16('x00280102'), ds.uint16('x00280103')]).toEqual([
    8, 8, 7, 0,
  ]);
  expect(ds.string('x00185101')).toMatch(/^(PA|AP)$/);
  expect(ds.string('x0008103e')).toBe(`view: ${ds.string('x00185101')}`);
  expect(ds.string('x00101010')).toMatch(/^\d+$/);
  for (const tag of [
    'x00100010',
    'x00080080',
    'x00080081',
    'x00080090',
    'x00080050',
    'x00200010',
    'x00101040',
    'x00081070',
    'x00081010',
  ]) {
    expect(ds.string(tag), tag).toContain(SYNTH_PHI_MARKER);
  }
  expect(ds.string('x00100010')?.startsWith(`${SYNTH_PHI_MARKER}^`)).toBe(true);
  expect(ds.string('x00100030')).toMatch(/^\d{8}$/);
  const el = ds.elements['x7fe00010'] as dicomParser.Element;
  if (jpeg) {
    expect(ds.string('x00282110')).toBe('01');
    expect(ds.string('x00282114')).toBe('ISO_10918_1');
    expect(el.encapsulatedPixelData).toBe(true);
    expect(el.fragments?.length).toBe(1);
    const frag = el.fragments?.[0] as { position: number; length: number };
    const bytes = ds.byteArray.subarray(frag.position, frag.position + frag.length);
    expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
    // Find SOF0 (baseline) and read its precision, size and component count.
    let sof = -1;
    for (let i = 2; i + 9 < bytes.length; i++)
      if (bytes[i] === 0xff && bytes[i + 1] === 0xc0) {
        sof = i;
        break;
      }
    expect(sof).toBeGreaterThan(0);
    expect(bytes[sof + 4]).toBe(8);
    expect(((bytes[sof + 5] as number) << 8) | (bytes[sof + 6] as number)).toBe(SIZE);
    expect(bytes[sof + 9]).toBe(1);
  } else {
    expect(el.encapsulatedPixelData ?? false).toBe(false);
    expect(el.length).toBe(SIZE * SIZE);
  }
  return ds;
}

describe('synthesize: DICOM files', () => {
  it('RSNA: Secondary Capture, JPEG Baseline, 8-bit MONOCHROME2, PatientID = patientId, fake PHI with the SYNTH marker', () => {
    for (const name of readdirSync(join(dirA, 'rsna', 'stage_2_train_images'))) {
      const ds = checkDicom(join(dirA, 'rsna', 'stage_2_train_images', name), true);
      expect(ds.string('x00100020')).toBe(name.replace(/\.dcm$/, ''));
    }
  });

  it('RSNA with the explicit VR little endian option: native pixels equal to the rendered film', () => {
    const cfg = SynthConfigSchema.parse({ ...base, out: dirC, seed: 12 });
    const plan = planRsnaImage(cfg, 0);
    const ds = checkDicom(join(dirC, 'rsna', 'stage_2_train_images', `${plan.patientId}.dcm`), false);
    const el = ds.elements['x7fe00010'] as dicomParser.Element;
    const film = renderFilm(plan.request, createRng(plan.filmSeed));
    expect(
      Buffer.from(ds.byteArray.subarray(el.dataOffset, el.dataOffset + el.length)).equals(Buffer.from(film.pixels)),
    ).toBe(true);
  });

  it('SIIM: <Study>/<Series>/<SOP>.dcm with the real UID arcs, ImageId = SOPInstanceUID', () => {
    const files = walk(join(dirA, 'siim', 'dicom-images-train'));
    expect(files.length).toBe(COUNTS.siim);
    for (const f of files) {
      const [study, series, file] = relative(join(dirA, 'siim', 'dicom-images-train'), f).split('/') as [
        string,
        string,
        string,
      ];
      expect(study).toMatch(/^1\.2\.276\.0\.7230010\.3\.1\.2\.8323329\.\d+\.\d+\.\d+$/);
      expect(series).toMatch(/^1\.2\.276\.0\.7230010\.3\.1\.3\.8323329\.\d+\.\d+\.\d+$/);
      expect(file).toMatch(/^1\.2\.276\.0\.7230010\.3\.1\.4\.8323329\.\d+\.\d+\.\d+\.dcm$/);
      const ds = checkDicom(f, true);
      expect(ds.string('x00080018')).toBe(file.replace(/\.dcm$/, ''));
      expect(ds.string('x00020003')).toBe(file.replace(/\.dcm$/, ''));
      expect(ds.string('x0020000d')).toBe(study);
      expect(ds.string('x0020000e')).toBe(series);
    }
  });

  const dcmdump = ['/usr/bin/dcmdump', '/usr/local/bin/dcmdump'].find((p) => existsSync(p));
  it.skipIf(dcmdump === undefined)(
    'dcmtk reads them: dcmdump shows the transfer syntax, dcmj2pnm decodes the JPEG close to the drawn film',
    () => {
      const cfg = SynthConfigSchema.parse({ ...base, out: dirA });
      const plan = planSiimImage(cfg, 0);
      const path = join(dirA, 'siim', 'dicom-images-train', plan.uids.study, plan.uids.series, `${plan.uids.sop}.dcm`);
      const dump = execFileSync(dcmdump as string, [path], { encoding: 'utf8' });
      expect(dump).toMatch(/\(0002,0010\) UI =JPEGBaseline/);
      expect(dump).toMatch(/\(0008,0016\) UI =SecondaryCaptureImageStorage/);
      expect(dump).toMatch(/\(7fe0,0010\) OB \(PixelSequence/);
      const pgm = join(dirA, '..', 'siim0.pgm');
      execFileSync((dcmdump as string).replace('dcmdump', 'dcmj2pnm'), ['+op', path, pgm]);
      const bytes = readFileSync(pgm);
      const pixels = bytes.subarray(bytes.length - SIZE * SIZE);
      const film = renderFilm(plan.request, createRng(plan.filmSeed)).pixels;
      let err = 0;
      for (let i = 0; i < film.length; i++) err += Math.abs((pixels[i] as number) - (film[i] as number));
      expect(err / film.length).toBeLessThan(3);
    },
  );
  if (dcmdump === undefined) it.skip('dcmtk (dcmdump) is not installed: DICOM cross-check skipped', () => {});
});

describe('synthesize: SIIM layout', () => {
  it('train-rle.csv: real header, one row per instance, ` -1` or RLE that decodes to the drawn pneumothorax', () => {
    const real = realFile('siim-pneumothorax-train-rle.csv.gz');
    const rows = lines(join(dirA, 'siim', 'train-rle.csv'));
    if (real !== null) expect(rows[0]).toBe(firstLine(readGzText(real)));
    const cfg = SynthConfigSchema.parse({ ...base, out: dirA });
    let positives = 0;
    for (let i = 0; i < COUNTS.siim; i++) {
      const plan = planSiimImage(cfg, i);
      const mine = rows.filter((r) => r.startsWith(`${plan.uids.sop},`)).map((r) => r.slice(plan.uids.sop.length + 1));
      const film = renderFilm(plan.request, createRng(plan.filmSeed));
      const drawn = film.findings.filter((f) => f.kind === 'Pneumothorax');
      if (drawn.length === 0) {
        expect(mine).toEqual([' -1']);
        continue;
      }
      positives++;
      expect(mine.length).toBe(drawn.length);
      mine.forEach((rle, k) => {
        expect(rle).toMatch(/^ \d+( \d+)*$/);
        const m = rleDecode(rle, SIZE, SIZE);
        expect(Buffer.from(m.data).equals(Buffer.from((drawn[k] as { mask: { data: Uint8Array } }).mask.data))).toBe(
          true,
        );
      });
    }
    expect(positives).toBeGreaterThan(0);
    expect(
      lines(join(dirC, 'siim', 'train-rle.csv'))
        .slice(1)
        .every((r) => /,(-1|\d+( \d+)*)$/.test(r)),
    ).toBe(true);
  });
});

describe('synthesize: COVID-19 collection layout', () => {
  it('metadata.csv: 29 named columns and a trailing comma, RFC-4180 quoting, real value shapes, files present', () => {
    const raw = text(join(dirA, 'covid', 'metadata.csv'));
    const parsed = Papa.parse<string[]>(raw, { skipEmptyLines: true });
    expect(parsed.errors).toEqual([]);
    const [header, ...rows] = parsed.data as [string[], ...string[][]];
    expect(header.length).toBe(30);
    expect(header[29]).toBe('');
    expect(header.slice(0, 5)).toEqual(['patientid', 'offset', 'sex', 'age', 'finding']);
    expect(header.slice(18, 24)).toEqual(['view', 'modality', 'date', 'location', 'folder', 'filename']);
    expect(rows.every((r) => r.length === 30 && r[29] === '')).toBe(true);
    const xray = rows.filter((r) => r[19] === 'X-ray');
    const ct = rows.filter((r) => r[19] === 'CT');
    expect(xray.length).toBe(COUNTS.covid);
    expect(ct.length).toBe(2);
    expect(xray.some((r) => r[4] === 'Pneumonia/Viral/COVID-19')).toBe(true);
    expect(xray.some((r) => r[4] !== 'Pneumonia/Viral/COVID-19')).toBe(true);
    for (const r of xray) {
      expect(['PA', 'AP', 'AP Supine', 'L']).toContain(r[18]);
      expect(r[22]).toBe('images');
      expect(r[23]).toMatch(/\.(jpg|jpeg|png)$/);
      expect(existsSync(join(dirA, 'covid', 'images', r[23] as string))).toBe(true);
      expect(r[4]?.split('/')[0]).toMatch(/^(Pneumonia|Tuberculosis|No Finding)$/);
    }
    for (const r of ct) {
      expect(r[22]).toBe('volumes');
      const nii = gunzipSync(readFileSync(join(dirA, 'covid', 'volumes', r[23] as string)));
      const v = new DataView(nii.buffer, nii.byteOffset);
      expect(v.getInt32(0, true)).toBe(348);
      expect(new TextDecoder().decode(nii.subarray(344, 347))).toBe('n+1');
    }
    // Quoted fields with commas and doubled quotes, as in the real table.
    expect(raw).toMatch(/,"[A-Z][a-z]+, [A-Za-z ]+",/);
  });

  it('writes multi-line quoted clinical notes somewhere in a larger set', async () => {
    const out = join(dirA, '..', 'notes');
    await synthesize({ out, counts: { nih: 0, rsna: 0, siim: 0, covid: 40 }, size: 64, seed: 3 });
    const raw = text(join(out, 'covid', 'metadata.csv'));
    const rows = (Papa.parse<string[]>(raw, { skipEmptyLines: true }).data as string[][]).slice(1);
    expect(rows.some((r) => (r[27] as string).includes('\n'))).toBe(true);
    expect(raw).toContain('""crackles""');
  });
});
