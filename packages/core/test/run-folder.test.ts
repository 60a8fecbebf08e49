import { describe, expect, it } from 'vitest';
import { joinRunPath, runFolder, RUN_FILES } from '../src/base';
import { runReadmeExample } from '../src/testing';

describe('runFolder', () => {
  it('names every file of a run folder under it, with one separator whatever the folder ends with', () => {
    for (const dir of ['runs/x', 'runs/x/', '/abs/runs/x']) {
      const run = runFolder(dir);
      const base = dir.replace(/\/$/, '');
      expect(run.plan).toBe(`${base}/plan.json`);
      expect(run.weights).toBe(`${base}/weights`);
      expect(run.modelSpec).toBe(`${base}/weights/model.json`);
      expect(run.checkpoints).toBe(`${base}/checkpoints`);
      expect(run.checkpointPointer).toBe(`${base}/checkpoints/latest.json`);
      expect(run.checkpoint('best-warm')).toBe(`${base}/checkpoints/best-warm`);
      expect(run.galleryIndex).toBe(`${base}/gallery/gallery.json`);
      expect(run.evaluation('test')).toBe(run.test);
      expect(run.evaluation('val')).toBe(`${base}/eval-val.json`);
    }
    expect(joinRunPath('/', RUN_FILES.plan)).toBe('/plan.json');
    expect(joinRunPath('', RUN_FILES.plan)).toBe('plan.json');
  });

  it('the README example prints what it says', async () => {
    const lines = await runReadmeExample(new URL('../README.md', import.meta.url), '<!-- example:run-folder');
    expect(lines).toEqual([
      'runs/exp1/plan.json runs/exp1/weights/model.json runs/exp1/checkpoints/latest.json',
      'runs/exp1/checkpoints/p00-s0000050 runs/exp1/eval-val.json model.stage1.onnx',
    ]);
  });
});
