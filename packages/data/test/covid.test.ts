import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '@multichexnet/core';
import { covidLabels, openCovid, parseCovidMetadata, splitFinding } from '../src/datasets/covid';
import { badRowSink } from '../src/datasets/bad-rows';
import { pathologyIndex } from '../src/datasets/pathologies';
import { missingMessage, realFile } from './realdata';
import { makeTmpRoot, type TmpRoot } from './helpers/tmp-root';

const J1 = '16747_3_1.jpg';
const J2 = 'covid-19-pneumonia-58-prior.jpg';
const j1 = realFile(J1);
const j2 = realFile(J2);
const fail = badRowSink('fail');
const FILTERS = { views: ['PA', 'AP', 'AP Supine'], modalities: ['X-ray'], excludeFindings: ['todo', 'Unknown'] };

const HEADER_2020 =
  'patientid,offset,sex,age,finding,RT_PCR_positive,survival,intubated,intubation_present,went_icu,in_icu,needed_supplemental_O2,extubated,temperature,pO2_saturation,leukocyte_count,neutrophil_count,lymphocyte_count,view,modality,date,location,folder,filename,doi,url,license,clinical_notes,other_notes,';
const row = (
  pid: string,
  finding: string,
  view: string,
  modality: string,
  folder: string,
  filename: string,
  notes = '',
): string =>
  `${pid},0,M,65,${finding},Y,,,,,,,,,,,,,${view},${modality},"January 22, 2020","Wuhan, China",${folder},${filename},,,,${notes},,`;

const META_2020 = [
  HEADER_2020,
  row(
    '2',
    'Pneumonia/Viral/COVID-19',
    'PA',
    'X-ray',
    'images',
    J1,
    '"Patient with ""crackles"",\nsecond line of notes"',
  ),
  row('3', 'Pneumonia/Viral/Herpes ', 'AP Supine', 'X-ray', 'images', J2),
  row('3', 'Pneumonia/Viral/COVID-19', 'L', 'X-ray', 'images', 'lateral.jpg'),
  row('4', 'Pneumonia/Viral/COVID-19', 'Axial', 'CT', 'images', 'ct.png'),
  row(
    '5',
    'Pneumonia/Viral/COVID-19',
    'Axial',
    'CT',
    'volumes',
    'radiopaedia_org_covid-19-pneumonia-7_85703_0-dcm.nii.gz',
  ),
  row('6', 'todo', 'PA', 'X-ray', 'images', 'todo.jpg'),
  row('7', 'No Finding', 'PA', 'X-ray', 'images', 'absent.jpg'),
  '',
].join('\n');

describe('COVID metadata', () => {
  it('parses the 2020 schema (trailing comma, quoted multi-line notes) and filters view, modality, volumes, todo', () => {
    const rows = parseCovidMetadata(META_2020, 'metadata.csv', fail, FILTERS);
    expect(rows.map((r) => [r.patientId, r.finding, r.view, r.path])).toEqual([
      ['2', ['Pneumonia', 'Viral', 'COVID-19'], 'PA', `images/${J1}`],
      ['3', ['Pneumonia', 'Viral', 'Herpes'], 'AP Supine', `images/${J2}`],
      ['7', ['No Finding'], 'PA', 'images/absent.jpg'],
    ]);
  });

  it('reads the early schema (Patientid, " url", no modality/folder)', () => {
    const text =
      'Patientid,offset,sex,age,finding,survival,view,date,location,filename,doi, url,license,notes\n1,0,M,65,COVID-19,,PA,2020,China,a.jpg,,,,\n2,0,F,50,SARS,,CT,2020,China,b.jpg,,,,\n3,0,F,50,ARDS,,AP,2020,China,c.png,,,,\n';
    const rows = parseCovidMetadata(text, 'metadata.csv', fail, FILTERS);
    expect(rows.map((r) => r.path)).toEqual(['images/a.jpg', 'images/c.png']);
    expect(covidLabels(rows[0]?.finding ?? [])[pathologyIndex('Pneumonia')]).toBe(1);
    expect(Number.isNaN(covidLabels(rows[1]?.finding ?? [])[pathologyIndex('Pneumonia')])).toBe(true);
  });

  it('maps the finding hierarchy to labels', () => {
    const covid = covidLabels(splitFinding('Pneumonia/Viral/COVID-19'));
    expect([covid[pathologyIndex('COVID-19')], covid[pathologyIndex('Pneumonia')]]).toEqual([1, 1]);
    const bact = covidLabels(splitFinding('Pneumonia/Bacterial/Streptococcus'));
    expect([bact[pathologyIndex('COVID-19')], bact[pathologyIndex('Pneumonia')]]).toEqual([0, 1]);
    const none = covidLabels(splitFinding('No Finding'));
    expect([none[pathologyIndex('COVID-19')], none[pathologyIndex('Pneumonia')]]).toEqual([0, 0]);
    expect(Number.isNaN(covidLabels(['Tuberculosis'])[pathologyIndex('Pneumonia')])).toBe(true);
    expect(Number.isNaN(covid[pathologyIndex('Mass')])).toBe(true);
  });

  it('rejects a file name that leaves the root with a DataError, whatever the policy', () => {
    const evil = [HEADER_2020, row('9', 'No Finding', 'PA', 'X-ray', 'images', '../../../etc/passwd.png')].join('\n');
    expect(() => parseCovidMetadata(evil, 'metadata.csv', badRowSink('skip'), FILTERS)).toThrow(DataError);
    expect(() => parseCovidMetadata(evil, 'metadata.csv', fail, FILTERS)).toThrow(
      /leaves the dataset root.*metadata\.csv, row 2/,
    );
  });
});

describe('openCovid', () => {
  let root: TmpRoot;
  beforeAll(() => {
    root = makeTmpRoot();
    root.write('metadata.csv', META_2020);
    if (j1 !== null) root.link(j1, `images/${J1}`);
    if (j2 !== null) root.link(j2, `images/${J2}`);
  });
  afterAll(() => root.remove());

  it.skipIf(j1 === null || j2 === null)(
    j1 === null ? missingMessage(J1) : 'loads the present real JPEGs, reports the absent one missing',
    async () => {
      const covid = await openCovid({ root: root.dir });
      expect([covid.size, covid.missing]).toEqual([2, 1]);
      const s = await covid.get(0);
      expect(s.source).toBe('covid');
      expect([s.image.width, s.image.height]).toEqual([1036, 885]);
      expect(s.meta).toEqual({ viewPosition: 'PA', finding: ['Pneumonia', 'Viral', 'COVID-19'], modality: 'X-ray' });
      expect(s.labels[pathologyIndex('COVID-19')]).toBe(1);
      const views = await openCovid({ root: root.dir, views: ['PA'] });
      expect(views.size).toBe(1);
    },
  );
});
