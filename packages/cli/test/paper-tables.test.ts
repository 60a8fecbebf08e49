import { describe, expect, it } from 'vitest';
import { paperTable } from '../src/report/paper-tables';

describe('paperTable', () => {
  it('shows a series table (means over seeds per metric) with its verdict', () => {
    const json = {
      title: 'Table 1 (series tiny)',
      seeds: [100, 101],
      comparisons: [],
      verdict: 'No MTL row beat a baseline.',
      rows: [
        {
          variant: 'single-cls',
          label: 'Single-task CheXCls',
          metrics: { 'cls.meanAuroc': { mean: 0.75, sd: 0.01, seeds: 2, undefinedSeeds: 0 } },
        },
        {
          variant: 'multichexnet-joint',
          label: 'MultiCheXNet',
          metrics: {
            'cls.meanAuroc': { mean: 0.7, sd: 0.02, seeds: 2, undefinedSeeds: 0 },
            'det.mAP': { mean: 'NaN', sd: 'NaN', seeds: 0, undefinedSeeds: 2 },
          },
        },
      ],
    };
    const t = paperTable('table1', json);
    expect(t.columns).toEqual(['Model', 'cls.meanAuroc', 'det.mAP']);
    expect(t.rows).toEqual([
      ['Single-task CheXCls', 0.75, null],
      ['MultiCheXNet', 0.7, null],
    ]);
    expect(t.caption).toContain('Mean over 2 seeds');
    expect(t.caption).toContain('No MTL row beat a baseline.');
    const t2 = paperTable('table2', { ...json, rows: [{ ...json.rows[1], gating: 'truth' }] });
    expect(t2.columns.slice(0, 2)).toEqual(['Model', 'Gating']);
    expect(t2.rows[0]!.slice(0, 2)).toEqual(['MultiCheXNet', 'truth']);
  });

  it("still reads a single-folder Table 1 (the quickstart's)", () => {
    const t = paperTable('table1', {
      title: 'T1',
      rows: [{ label: 'Single-task CheXCls', cls: { meanAuroc: 0.6 }, steps: 10, trainSeconds: 3 }],
      chance: {},
      testImages: {},
    });
    expect(t.rows[2]!.slice(0, 2)).toEqual(['Single-task CheXCls', 0.6]);
  });
});
