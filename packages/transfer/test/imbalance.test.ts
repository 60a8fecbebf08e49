import { describe, expect, it } from 'vitest';
import { DataError } from '@multichexnet/core';
import { PATHOLOGIES, harmoniseLabels, parseCovidMetadata, covidLabels, type SampleEntry } from '@multichexnet/data';
import { checkClassesLearnable, oversampleIndices, transferLabels } from '../src/index';

function entry(finding: string | null, labels: Float32Array): SampleEntry {
  return {
    id: 'x',
    patientId: 'p',
    source: finding === null ? 'nih' : 'covid',
    file: 'f',
    labels,
    tasks: { cls: true, det: false, seg: false },
    meta: finding === null ? {} : { finding: finding.split('/') },
  };
}

describe('transferLabels', () => {
  it('reads harmonised pathologies from the loader and other names from the finding hierarchy', () => {
    const f = ['Pneumonia', 'Viral', 'COVID-19'];
    const covid = entry(f.join('/'), covidLabels(f));
    expect(Array.from(transferLabels(covid, ['COVID-19', 'Pneumonia', 'Viral', 'Bacterial', 'SARS']))).toEqual([
      1, 1, 1, 0, 0,
    ]);
    const sars = entry('Pneumonia/Viral/SARS', covidLabels(['Pneumonia', 'Viral', 'SARS']));
    expect(Array.from(transferLabels(sars, ['COVID-19', 'Viral', 'SARS']))).toEqual([0, 1, 1]);
    // Tuberculosis: Pneumonia not annotated (NaN) in the COVID collection; COVID-19 is 0.
    const tb = entry('Tuberculosis', covidLabels(['Tuberculosis']));
    const y = transferLabels(tb, ['COVID-19', 'Pneumonia', 'Tuberculosis']);
    expect(y[0]).toBe(0);
    expect(Number.isNaN(y[1]!)).toBe(true);
    expect(y[2]).toBe(1);
    // An NIH sample: ChestX-ray14 labels as loaded, COVID-19 and finding levels not annotated.
    const nih = entry(null, harmoniseLabels({ Effusion: 1, Pneumonia: 0 }));
    const z = transferLabels(nih, ['Effusion', 'Pneumonia', 'COVID-19', 'Viral']);
    expect(z[0]).toBe(1);
    expect(z[1]).toBe(0);
    expect(Number.isNaN(z[2]!) && Number.isNaN(z[3]!)).toBe(true);
    expect(PATHOLOGIES).toContain('COVID-19');
  });

  it('follows the real metadata.csv rows: frontal X-rays only, hierarchy from the finding column', () => {
    const header =
      'patientid,offset,sex,age,finding,RT_PCR_positive,survival,intubated,intubation_present,went_icu,in_icu,needed_supplemental_O2,extubated,temperature,pO2_saturation,leukocyte_count,neutrophil_count,lymphocyte_count,view,modality,date,location,folder,filename,doi,url,license,clinical_notes,other_notes,';
    const row = (pid: string, finding: string, view: string, modality: string, file: string): string =>
      `${pid},,M,60,${finding},,,,,,,,,,,,,,${view},${modality},2020,,images,${file},,,,,,`;
    const text = [
      header,
      row('1', 'Pneumonia/Viral/COVID-19', 'PA', 'X-ray', 'a.jpg'),
      row('1', 'Pneumonia/Viral/COVID-19', 'L', 'X-ray', 'b.jpg'),
      row('2', 'Pneumonia/Bacterial/Streptococcus', 'AP Supine', 'X-ray', 'c.png'),
      row('3', 'Pneumonia/Viral/COVID-19', 'Axial', 'CT', 'd.jpg'),
      row('4', 'No Finding', 'AP', 'X-ray', 'e.jpeg'),
    ].join('\n');
    const rows = parseCovidMetadata(text, 'metadata.csv', () => {}, {
      views: ['PA', 'AP', 'AP Supine'],
      modalities: ['X-ray'],
      excludeFindings: ['todo', 'Unknown'],
    });
    expect(rows.map((r) => r.filename)).toEqual(['a.jpg', 'c.png', 'e.jpeg']);
    const labels = rows.map((r) =>
      Array.from(transferLabels(entry(r.finding.join('/'), covidLabels(r.finding)), ['COVID-19', 'Bacterial'])),
    );
    expect(labels).toEqual([
      [1, 0],
      [0, 1],
      [0, 0],
    ]);
  });

  it('refuses a class no training sample has (a misspelled finding), naming it', () => {
    const rows = [Float32Array.of(1, 0), Float32Array.of(0, 0)];
    expect(() => checkClassesLearnable(rows, ['COVID-19', 'Covid-19'], 'covid/metadata.csv')).toThrow(
      /classes\.1 \(Covid-19\).*0 positive, 2 negative/,
    );
    expect(() => checkClassesLearnable([Float32Array.of(Number.NaN)], ['X'], 'f')).toThrow(DataError);
    expect(() =>
      checkClassesLearnable(
        rows.slice(0, 2).map((r) => r.subarray(0, 1)),
        ['COVID-19'],
        'f',
      ),
    ).not.toThrow();
  });
});

describe('oversampleIndices', () => {
  it('tops the minority pattern up to the majority, keeping every sample once', () => {
    const labels = [[1], [0], [0], [0], [0], [0], [0], [1]];
    const { indices, summary } = oversampleIndices(labels, { seed: 1 });
    expect(indices.length).toBe(12);
    const count = (i: number): number => indices.filter((x) => x === i).length;
    for (let i = 0; i < labels.length; i++) expect(count(i)).toBeGreaterThanOrEqual(1);
    expect(count(0) + count(7)).toBe(6);
    // Whole copies first: 2 positives -> 6 means each exactly 3 times.
    expect([count(0), count(7)]).toEqual([3, 3]);
    expect(summary).toEqual({
      before: 8,
      after: 12,
      groups: [
        { pattern: '0', before: 6, after: 6 },
        { pattern: '1', before: 2, after: 6 },
      ],
    });
  });

  it('draws the remainder without replacement, seeded: same seed same indices, another seed another draw', () => {
    const labels = [...Array.from({ length: 3 }, () => [1]), ...Array.from({ length: 20 }, () => [0])];
    const a = oversampleIndices(labels, { seed: 7 }).indices;
    const b = oversampleIndices(labels, { seed: 7 }).indices;
    expect(a).toEqual(b);
    const pos = (ix: number[]): number[] => [0, 1, 2].map((i) => ix.filter((x) => x === i).length);
    // 3 -> 20: 6 whole copies (18) plus 2 of the 3 drawn once more.
    expect(pos(a).sort()).toEqual([6, 7, 7]);
    const seen = new Set<string>();
    for (let s = 0; s < 20; s++) seen.add(pos(oversampleIndices(labels, { seed: s }).indices).join(','));
    expect(seen.size).toBe(3);
  });

  it('balances label patterns of several classes (NaN is its own value) and honours the ratio', () => {
    const labels = [
      [1, 1],
      [1, 1],
      [0, 1],
      [0, 1],
      [0, 1],
      [0, 1],
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
      [0, Number.NaN],
    ];
    const { summary } = oversampleIndices(labels, { seed: 3 });
    expect(summary.groups.map((g) => [g.pattern, g.after])).toEqual([
      ['0,0', 8],
      ['0,1', 8],
      ['0,NaN', 8],
      ['1,1', 8],
    ]);
    const half = oversampleIndices(labels, { seed: 3, ratio: 0.5 }).summary;
    expect(half.groups.map((g) => g.after)).toEqual([8, 4, 4, 4]);
    expect(() => oversampleIndices(labels, { seed: 1, ratio: 0 })).toThrow(/ratio/);
    expect(() => oversampleIndices([], { seed: 1 })).toThrow(DataError);
  });
});
