import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { DataError } from '@multichexnet/core';
import { unzipSync } from 'fflate';
import { openRsna, parseRsnaLabels } from '../src/datasets/rsna';
import { openSiim, parseSiimRle } from '../src/datasets/siim';
import { badRowSink } from '../src/datasets/bad-rows';
import { pathologyIndex } from '../src/datasets/pathologies';
import { rleDecode } from '../src/codecs/rle';
import { PHI_TAGS } from '../src/codecs/phi-tags';
import { itOnRealFile, readGzText, realFile } from './realdata';
import { makeTmpRoot, type TmpRoot } from './helpers/tmp-root';

const RSNA = 'kaggle_stage_2_train_labels.csv.zip';
const SIIM = 'siim-pneumothorax-train-rle.csv.gz';
const DCM = '1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm';
const rsnaPath = realFile(RSNA);
const siimPath = realFile(SIIM);
const dcmPath = realFile(DCM);
const fail = badRowSink('fail');

function rsnaText(): string {
  const files = unzipSync(new Uint8Array(readFileSync(rsnaPath as string)));
  return new TextDecoder().decode(Object.values(files)[0]);
}

describe('RSNA labels', () => {
  itOnRealFile(RSNA, 'group the real file into 26,684 patients, 6,012 positive, 9,555 boxes', (rsnaPath) => {
    const patients = parseRsnaLabels(rsnaText(), RSNA, fail);
    expect(patients.length).toBe(26684);
    expect(patients.filter((p) => p.target === 1).length).toBe(6012);
    expect(patients.reduce((a, p) => a + p.boxes.length, 0)).toBe(9555);
    expect(patients.filter((p) => p.target === 0).every((p) => p.boxes.length === 0)).toBe(true);
    const perPatient = [0, 0, 0, 0, 0];
    for (const p of patients) perPatient[Math.max(1, p.boxes.length)]++;
    expect(perPatient.slice(1)).toEqual([23286, 3266, 119, 13]);
    expect(Math.max(...patients.flatMap((p) => p.boxes.map((b) => b.x + b.width)))).toBe(1024);
    expect(patients.find((p) => p.patientId === '00436515-870c-4b36-a041-de91049b9ab4')?.boxes[0]).toEqual({
      label: 'Pneumonia',
      x: 264,
      y: 152,
      width: 213,
      height: 379,
    });
  });

  it('rejects rows mixing Target values, boxes on negatives and non-numeric boxes', () => {
    const head = 'patientId,x,y,width,height,Target\n';
    const id = '00436515-870c-4b36-a041-de91049b9ab4';
    expect(() => parseRsnaLabels(`${head}${id},1,2,3,4,0\n`, 'l.csv', fail)).toThrow(/empty for Target=0/);
    expect(() => parseRsnaLabels(`${head}${id},a,2,3,4,1\n`, 'l.csv', fail)).toThrow(DataError);
    expect(() => parseRsnaLabels(`${head}${id},NaN,2,3,4,1\n`, 'l.csv', fail)).toThrow(DataError);
    const skip = badRowSink('skip');
    const out = parseRsnaLabels(`${head}${id},1,2,3,4,1\n${id},,,,,0\n${id},5,6,7,8,1\n`, 'l.csv', skip);
    expect(out).toEqual([]);
    expect(skip.count).toBe(2);
  });
});

describe('SIIM labels', () => {
  itOnRealFile(SIIM, 'group the real file into 12,047 images, 2,669 positive with 3,576 instances', (siimPath) => {
    const images = parseSiimRle(readGzText(siimPath), SIIM, fail);
    expect(images.length).toBe(12047);
    expect(images.filter((i) => i.rles.length > 0).length).toBe(2669);
    expect(images.reduce((a, i) => a + i.rles.length, 0)).toBe(3576);
    expect(Math.max(...images.map((i) => i.rles.length))).toBe(10);
  });

  it('trims the header space and the leading value space; rejects malformed RLE', () => {
    const out = parseSiimRle('ImageId, EncodedPixels\n1.2.3, -1\n1.2.4, 1 2 5 1\n1.2.4, 0 1\n', 's.csv', fail);
    expect(out).toEqual([
      { imageId: '1.2.3', rles: [] },
      { imageId: '1.2.4', rles: ['1 2 5 1', '0 1'] },
    ]);
    expect(() => parseSiimRle('ImageId, EncodedPixels\n1.2.3, 1 2 3\n', 's.csv', fail)).toThrow(/EncodedPixels/);
    expect(() => parseSiimRle('a,b\n', 's.csv', fail)).toThrow(/Not a SIIM RLE file/);
  });
});

describe('openRsna / openSiim on real labels with one real DICOM present', () => {
  let root: TmpRoot;
  const ready = rsnaPath !== null && siimPath !== null && dcmPath !== null;
  let positiveSiim = '';
  let rsnaPositive = '';
  beforeAll(() => {
    root = makeTmpRoot();
    if (!ready) return;
    rsnaPositive = parseRsnaLabels(rsnaText(), RSNA, fail).find((p) => p.boxes.length === 2)?.patientId as string;
    positiveSiim = parseSiimRle(readGzText(siimPath as string), SIIM, fail).find((i) => i.rles.length >= 3)
      ?.imageId as string;
    root.link(rsnaPath as string, `rsna/${RSNA}`);
    root.link(dcmPath as string, `rsna/stage_2_train_images/${rsnaPositive}.dcm`);
    root.write(
      'rsna/stage_2_detailed_class_info.csv',
      `patientId,class\n${rsnaPositive},Lung Opacity\n${rsnaPositive},Lung Opacity\n`,
    );
    root.link(siimPath as string, 'siim/train-rle.csv.gz');
    root.link(dcmPath as string, `siim/dicom-images-train/1.2.3/1.2.4/${DCM}`);
    root.link(dcmPath as string, `siim/dicom-images-train/1.2.5/1.2.6/${positiveSiim}.dcm`);
  });
  afterAll(() => root.remove());

  it.skipIf(!ready)(
    ready ? 'RSNA: one present patient, boxes, DICOM view position, no PHI in meta' : 'realdata absent: skipped',
    async () => {
      const rsna = await openRsna({ root: `${root.dir}/rsna` });
      expect([rsna.size, rsna.missing]).toEqual([1, 26683]);
      const s = await rsna.get(0);
      expect(s.id).toBe(rsnaPositive);
      expect(s.boxes?.length).toBe(2);
      expect(s.labels[pathologyIndex('Pneumonia')]).toBe(1);
      expect(Number.isNaN(s.labels[pathologyIndex('Mass')])).toBe(true);
      expect(s.tasks).toEqual({ cls: true, det: true, seg: false });
      expect(s.meta).toEqual({
        rsnaClass: 'Lung Opacity',
        viewPosition: 'PA',
        modality: 'CR',
        pixelSpacing: [0.168, 0.168],
      });
      const metaKeys = Object.keys(s.meta).map((k) => k.toLowerCase());
      for (const { keyword } of PHI_TAGS) expect(metaKeys).not.toContain(keyword.toLowerCase());
      expect(JSON.stringify(s.meta)).not.toContain('16d7f894');
    },
  );

  it.skipIf(!ready)('SIIM: DICOMs found by walking the tree, instances merged with OR', async () => {
    const siim = await openSiim({ root: `${root.dir}/siim` });
    expect([siim.size, siim.missing]).toEqual([2, 12045]);
    const byId = new Map(siim.entries.map((e, i) => [e.id, i]));
    const neg = await siim.get(byId.get(DCM.slice(0, -4)) as number);
    expect(neg.mask?.data.every((v) => v === 0)).toBe(true);
    expect(neg.labels[pathologyIndex('Pneumothorax')]).toBe(0);
    expect(neg.tasks.seg).toBe(true);
    const pos = await siim.get(byId.get(positiveSiim) as number);
    expect(pos.labels[pathologyIndex('Pneumothorax')]).toBe(1);
    const rles = siim.entry(byId.get(positiveSiim) as number).maskRle as string[];
    expect(rles.length).toBeGreaterThanOrEqual(3);
    const parts = rles.map((r) => rleDecode(r, 1024, 1024).data);
    let mismatch = 0;
    let on = 0;
    for (let i = 0; i < 1024 * 1024; i++) {
      const want = parts.some((p) => p[i] === 1) ? 1 : 0;
      if (pos.mask?.data[i] !== want) mismatch++;
      on += want;
    }
    expect(mismatch).toBe(0);
    expect(on).toBeGreaterThan(0);
  });
});
