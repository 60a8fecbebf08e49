import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHESTXRAY14_CLASSES, ConfigError, DataError } from '@multichexnet/core';
import { openNih, parseNihAge, parseNihBoxes, parseNihIndex, parseNameList } from '../src/datasets/nih';
import { badRowSink } from '../src/datasets/bad-rows';
import { PATHOLOGIES, pathologyIndex } from '../src/datasets/pathologies';
import { createMemorySource } from '../src/io/memory-source';
import { itOnRealFile, readGzText, realFile } from './realdata';
import { makeTmpRoot, type TmpRoot } from './helpers/tmp-root';

const INDEX = 'Data_Entry_2017_v2020.csv.gz';
const BBOX = 'BBox_List_2017.csv.gz';
const indexPath = realFile(INDEX);
const bboxPath = realFile(BBOX);
const png1 = realFile('00000001_000.png');
const png2 = realFile('00027426_000.png');

/** Per-label counts published in specs/DATASETS.md §1.1 for the 112,120-row index. */
const SPEC_COUNTS: Record<string, number> = {
  Atelectasis: 11559,
  Cardiomegaly: 2776,
  Consolidation: 4667,
  Edema: 2303,
  Effusion: 13317,
  Emphysema: 2516,
  Fibrosis: 1686,
  Hernia: 227,
  Infiltration: 19894,
  Mass: 5782,
  Nodule: 6331,
  Pleural_Thickening: 3385,
  Pneumonia: 1431,
  Pneumothorax: 5302,
};

const fail = badRowSink('fail');
const HEADER_2017 =
  'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],';

describe('parseNihIndex on the real Data_Entry_2017_v2020.csv', () => {
  itOnRealFile(INDEX, 'loads all 112,120 rows with the published per-label counts', (indexPath) => {
    // How fast: `npm run bench -- --only label-tables` (a timed assertion here failed on a loaded machine).
    const entries = parseNihIndex(readGzText(indexPath), INDEX, fail);
    expect(entries.length).toBe(112120);
    const counts: Record<string, number> = {};
    let noFinding = 0;
    let notBinary = 0;
    let covidKnown = 0;
    for (const e of entries) {
      let any = false;
      CHESTXRAY14_CLASSES.forEach((c) => {
        const v = e.labels[pathologyIndex(c)];
        if (v === 1) {
          counts[c] = (counts[c] ?? 0) + 1;
          any = true;
        } else if (v !== 0) notBinary++;
      });
      if (!any) noFinding++;
      if (!Number.isNaN(e.labels[pathologyIndex('COVID-19')])) covidKnown++;
    }
    expect([notBinary, covidKnown]).toEqual([0, 0]);
    expect(counts).toEqual(SPEC_COUNTS);
    expect(noFinding).toBe(60361);
    expect(new Set(entries.map((e) => e.patientId)).size).toBe(30805);
    expect(entries.filter((e) => e.meta.viewPosition === 'PA').length).toBe(67310);
    expect(entries.filter((e) => e.meta.viewPosition === 'AP').length).toBe(44810);
    expect(entries[0]).toMatchObject({
      id: '00000001_000.png',
      patientId: '1',
      meta: { followUp: 0, viewPosition: 'PA', originalSize: [2682, 2749] },
    });
    expect(entries[0]?.demographics).toBeUndefined();
  });

  it.skipIf(indexPath === null)(
    'reads the 2017 Kaggle header variant (Patient Sex, trailing comma) identically',
    () => {
      const text = readGzText(indexPath as string);
      const lines = text
        .split('\n')
        .filter((l) => l !== '')
        .slice(0, 2001);
      const v2020 = [
        lines[0]?.replace('Patient Gender', 'Patient Sex') + ',',
        ...lines.slice(1).map((l) => `${l},`),
      ].join('\r\n');
      const a = parseNihIndex(lines.join('\n'), 'a.csv', fail, { demographics: true });
      const b = parseNihIndex(v2020, 'b.csv', fail, { demographics: true });
      expect(b.length).toBe(2000);
      expect(b).toEqual(a);
      expect(a[0]?.demographics).toEqual({ ageYears: 57, sex: 'M' });
    },
  );
});

describe('parseNihIndex rules', () => {
  const row = (labels: string, age = '58', extra = '') =>
    `${HEADER_2017}\n00000001_001.png,${labels},1,1,${age},M,PA,2894,2729,0.143,0.143,${extra}\n`;

  it('parses labels as an unordered set of exact tokens', () => {
    const [e] = parseNihIndex(row('Mass|Atelectasis'), 'x', fail);
    expect(e?.labels[pathologyIndex('Mass')]).toBe(1);
    expect(e?.labels[pathologyIndex('Atelectasis')]).toBe(1);
    expect(Array.from(e?.labels ?? []).filter((v) => v === 1).length).toBe(2);
  });

  it('accepts DICOM-AS ages', () => {
    expect(parseNihAge('058Y')).toBe(58);
    expect(parseNihAge('011M')).toBeCloseTo(11 / 12);
    expect(parseNihAge('58')).toBe(58);
    expect(parseNihAge('5 8')).toBeNull();
    expect(parseNihIndex(row('No Finding', '058Y'), 'x', fail, { demographics: true })[0]?.demographics?.ageYears).toBe(
      58,
    );
  });

  it('rejects substring-like tokens, mixed No Finding and bad ages, naming file, row and field', () => {
    for (const [labels, age] of [
      ['Infiltrate', '58'],
      ['Mass |Nodule', '58'],
      ['No Finding|Mass', '58'],
      ['Mass', '58 years'],
    ] as const) {
      expect(() => parseNihIndex(row(labels, age), 'Data_Entry.csv', fail)).toThrow(DataError);
    }
    expect(() => parseNihIndex(row('Infiltrate'), 'Data_Entry.csv', fail)).toThrow(
      /file Data_Entry\.csv, row 2, field Finding Labels/,
    );
    const skip = badRowSink('skip');
    expect(parseNihIndex(row('Pneumonias'), 'x', skip)).toEqual([]);
    expect(skip.count).toBe(1);
  });

  it('rejects a file that is not an NIH index', () => {
    expect(() => parseNihIndex('a,b\n1,2\n', 'x.csv', fail)).toThrow(/Not an NIH label index/);
  });

  it('parses split lists with CRLF and trailing newline', () => {
    expect(parseNameList('00000003_000.png\r\n00000003_001.png\r\n\r\n')).toEqual([
      '00000003_000.png',
      '00000003_001.png',
    ]);
  });
});

describe('parseNihBoxes', () => {
  itOnRealFile(BBOX, 'loads the real BBox_List: 984 rows on 880 images, Infiltrate renamed', (bboxPath) => {
    const boxes = parseNihBoxes(readGzText(bboxPath), BBOX, fail);
    expect(boxes.size).toBe(880);
    const all = [...boxes.values()].flat();
    expect(all.length).toBe(984);
    expect(Math.max(...[...boxes.values()].map((b) => b.length))).toBe(4);
    const byLabel: Record<string, number> = {};
    for (const b of all) byLabel[b.label] = (byLabel[b.label] ?? 0) + 1;
    expect(byLabel).toEqual({
      Atelectasis: 180,
      Effusion: 153,
      Cardiomegaly: 146,
      Infiltration: 123,
      Pneumonia: 120,
      Pneumothorax: 98,
      Mass: 85,
      Nodule: 79,
    });
    expect(boxes.get('00013118_008.png')?.[0]).toEqual({
      label: 'Atelectasis',
      x: 225.084745762712,
      y: 547.019216763771,
      width: 86.7796610169491,
      height: 79.1864406779661,
    });
  });

  it('rejects NaN and non-positive sizes', () => {
    const head = 'Image Index,Finding Label,Bbox [x,y,w,h],,,\n';
    expect(() => parseNihBoxes(`${head}a.png,Mass,NaN,1,2,3\n`, 'b.csv', fail)).toThrow(DataError);
    expect(() => parseNihBoxes(`${head}a.png,Mass,1,1,0,3\n`, 'b.csv', fail)).toThrow(DataError);
  });
});

describe('openNih', () => {
  let root: TmpRoot;
  const ready = indexPath !== null && bboxPath !== null && png1 !== null && png2 !== null;
  beforeAll(() => {
    root = makeTmpRoot();
    if (!ready) return;
    root.link(indexPath as string, INDEX);
    root.link(bboxPath as string, BBOX);
    root.link(png1 as string, 'images_001/images/00000001_000.png');
    root.link(png2 as string, 'images/00027426_000.png');
  });
  afterAll(() => root.remove());

  it.skipIf(!ready)(
    ready
      ? 'with only its two images present, yields those two samples and reports the rest missing'
      : 'realdata absent: skipped',
    async () => {
      const nih = await openNih({ root: root.dir });
      expect(nih.size).toBe(2);
      expect(nih.missing).toBe(112118);
      expect(nih.skipped).toBe(0);
      expect(nih.classes).toEqual(PATHOLOGIES);
      const seen = [];
      for await (const s of nih) seen.push(s);
      expect(seen.map((s) => s.id)).toEqual(['00000001_000.png', '00027426_000.png']);
      const s = seen[0];
      expect(s?.source).toBe('nih');
      expect(s?.image.width).toBe(512);
      expect(s?.labels[pathologyIndex('Cardiomegaly')]).toBe(1);
      expect(s?.tasks).toEqual({ cls: true, det: false, seg: false });
      expect(nih.entry(1).file).toBe('images/00027426_000.png');
    },
  );

  it.skipIf(!ready)('honours the official split files and scales boxes to the image size', async () => {
    // split files are tiny text: written, with CRLF
    root.write('train_val_list.txt', '00000001_000.png\r\n');
    root.write('test_list.txt', '00027426_000.png\r\n');
    const boxed = readGzText(bboxPath as string)
      .split('\n')[1]
      ?.split(',')[0] as string;
    const box = parseNihBoxes(readGzText(bboxPath as string), BBOX, fail).get(boxed)?.[0];
    root.link(png2 as string, `images/${boxed}`);
    const nih = await openNih({ root: root.dir });
    const split = Object.fromEntries(nih.entries.map((e) => [e.id, e.meta.officialSplit]));
    expect(split).toEqual({ '00000001_000.png': 'trainval', '00027426_000.png': 'test', [boxed]: undefined });
    const i = nih.entries.findIndex((e) => e.id === boxed);
    const s = await nih.get(i);
    // the image is 512 px, the boxes are in the 1024 px space
    expect(s.boxes?.[0]).toEqual({
      label: box?.label,
      x: (box?.x ?? 0) / 2,
      y: (box?.y ?? 0) / 2,
      width: (box?.width ?? 0) / 2,
      height: (box?.height ?? 0) / 2,
    });
  });

  it.skipIf(png1 === null)('reads from an in-memory FileSource (the browser path)', async () => {
    const csv = `${HEADER_2017}\n00000001_000.png,Cardiomegaly,0,1,57,M,PA,2682,2749,0.143,0.143,\n00000002_000.png,No Finding,0,2,80,M,PA,2500,2048,0.171,0.171,\n`;
    const src = createMemorySource({
      'Data_Entry_2017.csv': new TextEncoder().encode(csv),
      'images/00000001_000.png': new Uint8Array(readFileSync(png1 as string)),
    });
    const nih = await openNih({ root: src });
    expect([nih.size, nih.missing]).toEqual([1, 1]);
    expect((await nih.get(0)).image.width).toBe(512);
  });

  it('skips or fails on an undecodable image according to onBadSample', async () => {
    const csv = `${HEADER_2017}\n00000001_000.png,Mass,0,1,57,M,PA,1,1,0.1,0.1,\n`;
    const files = {
      'Data_Entry_2017.csv': new TextEncoder().encode(csv),
      'images/00000001_000.png': new Uint8Array([1, 2, 3]),
    };
    const skip = await openNih({ root: createMemorySource(files), onBadSample: 'skip' });
    const got = [];
    for await (const s of skip) got.push(s);
    expect(got).toEqual([]);
    expect(skip.skipped).toBe(1);
    const failing = await openNih({ root: createMemorySource(files) });
    await expect(async () => {
      for await (const s of failing) void s;
    }).rejects.toThrow(DataError);
  });

  it('validates its options with a ConfigError', async () => {
    await expect(openNih({ root: '' })).rejects.toThrow(ConfigError);
    await expect(openNih({ root: '/x', onBadSample: 'ignore' } as never)).rejects.toThrow(/onBadSample/);
    await expect(openNih({ root: '/x', colour: true } as never)).rejects.toThrow(ConfigError);
  });

  it('reports a missing label index with a DataError listing the candidates', async () => {
    await expect(openNih({ root: createMemorySource({}) })).rejects.toThrow(/Data_Entry_2017_v2020\.csv/);
  });
});
