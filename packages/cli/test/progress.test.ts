import { describe, expect, it } from 'vitest';
import { createReporter, formatDuration, progressModeFor } from '../src/io/progress';
import { createTrainProgress } from '../src/io/train-progress';
import { lines } from './helpers';

function sink(isTTY = false): { write: (s: string) => void; isTTY: boolean; text: () => string } {
  let text = '';
  return { write: (s: string) => void (text += s), isTTY, text: () => text };
}

describe('progress reporter', () => {
  it('lines mode: one line per tenth (at most one a second) with rate and time left, then a summary', () => {
    let t = 0;
    const s = sink();
    const task = createReporter(s, 'lines', { now: () => t }).task('synth', 100, 'images');
    for (let i = 1; i <= 100; i++) {
      t += 0.5;
      task.update(i);
    }
    task.finish('done');
    const out = lines(s.text());
    // 50 s of work: a tenth every 5 s, so every decile prints; the last is 100 %.
    expect(out).toHaveLength(11);
    expect(out[0]).toBe('synth 10/100 images (10%) 2.0 images/s, eta 45s');
    expect(out[9]).toBe('synth 100/100 images (100%) 2.0 images/s, eta 0s');
    expect(out[10]).toBe('synth: 100 images in 50s (2.0 images/s), done');
  });

  it('lines mode: a long tenth still prints every lineEverySeconds; short phases stay quiet', () => {
    let t = 0;
    const s = sink();
    const r = createReporter(s, 'lines', { now: () => t, lineEverySeconds: 15 });
    const slow = r.task('train', 1000, 'steps');
    for (let i = 1; i <= 40; i++) {
      t += 1;
      slow.update(i, { loss: 0.5 });
    }
    expect(lines(s.text())).toEqual([
      'train 15/1000 steps (1%) 1.0 steps/s, eta 16m25s | loss 0.500',
      'train 30/1000 steps (3%) 1.0 steps/s, eta 16m10s | loss 0.500',
    ]);
    const quick = r.task('quick', 10, 'steps');
    for (let i = 1; i <= 10; i++) {
      t += 0.01;
      quick.update(i);
    }
    expect(lines(s.text())).toHaveLength(2);
  });

  it('bar mode redraws in place on a TTY and keeps log lines above the bar', () => {
    const s = sink(true);
    const r = createReporter(s, 'bar');
    const task = r.task('train', 10, 'steps');
    task.update(5, { cls: '0.412' });
    r.info('validation: 0.7');
    task.finish();
    const text = s.text();
    expect(text).toContain('\r');
    expect(text).toMatch(/train .* 5\/10 steps/);
    expect(text).toContain('\r\x1b[Kvalidation: 0.7\n');
    expect(text).toMatch(/train: 5 steps in \d+s/);
  });

  it('silent mode writes nothing', () => {
    const s = sink();
    const r = createReporter(s, 'silent');
    const task = r.task('x', 3, 'items');
    task.update(3);
    task.finish();
    r.info('hello');
    expect(s.text()).toBe('');
  });

  it('picks bars only on a terminal outside CI', () => {
    expect(progressModeFor({ write: () => {}, isTTY: true }, {}, false)).toBe('bar');
    expect(progressModeFor({ write: () => {}, isTTY: true }, { CI: 'true' }, false)).toBe('lines');
    expect(progressModeFor({ write: () => {}, isTTY: false }, {}, false)).toBe('lines');
    expect(progressModeFor({ write: () => {}, isTTY: true }, {}, true)).toBe('silent');
  });

  it('formats durations', () => {
    expect(formatDuration(42.4)).toBe('42s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3725)).toBe('1h02m');
    expect(formatDuration(Number.NaN)).toBe('?');
  });
});

describe('training progress from the trainer events', () => {
  it('one task per phase, losses on the line, evaluations and stops as log lines', () => {
    let t = 0;
    const s = sink();
    const onEvent = createTrainProgress(createReporter(s, 'lines', { now: () => t }));
    onEvent({ type: 'run-start', plan: 'p', runDir: 'runs/p', phases: 2, totalSteps: 20, resumedFrom: null });
    onEvent({
      type: 'phase-start',
      phase: 'a',
      phaseIndex: 0,
      phases: 2,
      steps: 10,
      startStep: 0,
      trainable: ['encoder', 'cls'],
      description: '',
    });
    for (let k = 1; k <= 10; k++) {
      t += 2;
      onEvent({
        type: 'step',
        phase: 'a',
        phaseIndex: 0,
        step: k,
        steps: 10,
        globalStep: k,
        totalSteps: 20,
        losses: { cls: 0.5 },
        total: 0.5,
        weights: {},
        learningRate: 1e-3,
        imagesPerSecond: 8,
        phaseSecondsLeft: 0,
        runSecondsLeft: 0,
        routing: null,
      });
    }
    onEvent({ type: 'eval', phase: 'a', step: 10, metrics: { 'cls.meanAuroc': 0.61 }, score: 0.61, best: true });
    onEvent({ type: 'phase-end', phase: 'a', phaseIndex: 0, seconds: 20, restoredBest: null });
    onEvent({
      type: 'stopped',
      phase: 'b',
      step: 3,
      reason: 'loss cls is NaN',
      lastCheckpoint: 'runs/p/checkpoints/p01-s0000000',
    });
    const out = lines(s.text());
    expect(out[0]).toBe('training p: 2 phases, 20 steps -> runs/p');
    expect(out[1]).toBe('[1/2] a 1/10 steps (10%) 0.50 steps/s, eta 18s | cls 0.500 img/s 8');
    expect(out).toContain('  validation a @10: cls.meanAuroc 0.610 (best)');
    expect(out).toContain('[1/2] a: 10 steps in 20s (0.50 steps/s)');
    expect(out.at(-1)).toBe(
      'warning: training stopped in b at step 3: loss cls is NaN; last good checkpoint runs/p/checkpoints/p01-s0000000',
    );
  });
});
