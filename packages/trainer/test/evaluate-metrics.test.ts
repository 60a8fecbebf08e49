import { describe, expect, it } from 'vitest';
import { CHESTXRAY14_CLASSES, createRng, type BinaryMask, type Box, type ScoredBox } from '@multichexnet/core';
import { gateRoc } from '@multichexnet/gating';
import { clsTask, f1Score, macroAuroc } from '@multichexnet/head-cls';
import { apAt, detTask, positiveApAt } from '@multichexnet/head-det';
import { positiveMeanDice, segTask, siimMeanDice } from '@multichexnet/head-seg';
import { summarise, taskMetrics, type EvalRaw } from '../src/eval/evaluate';
import { smallModel } from './helpers';

const mask = (bits: number[]): BinaryMask => ({ width: 2, height: 2, data: Uint8Array.from(bits) });
const box = (x: number): Box => ({ x, y: 0, width: 10, height: 10 });
const scored = (x: number, score: number): ScoredBox => ({ ...box(x), score });

describe('summarise: both metric families, each from its head package', () => {
  it('reports the leaderboard and the positive-image metrics, per-class AUROC and F1, the gate AUROC', () => {
    const model = smallModel(3);
    const rng = createRng('summarise');
    const classes = [...CHESTXRAY14_CLASSES];
    const labels = Array.from({ length: 40 }, () => Float32Array.from(classes, () => (rng.bernoulli(0.3) ? 1 : 0)));
    const scores = labels.map((row) => Float32Array.from(row, (y) => Math.min(1, 0.5 * rng.next() + 0.4 * y)));
    const det = [
      { truth: [box(0)], predictions: [scored(0, 0.9)] },
      { truth: [], predictions: [scored(50, 0.95)] },
      { truth: [box(20)], predictions: [] },
    ];
    const seg = [
      { truth: mask([1, 1, 1, 0]), prediction: mask([1, 1, 0, 0]) },
      { truth: mask([0, 0, 0, 0]), prediction: mask([0, 0, 0, 0]) },
      { truth: mask([0, 0, 0, 0]), prediction: mask([0, 0, 0, 0]) },
    ];
    const raw: EvalRaw = {
      tasks: { cls: labels.map((l, i) => ({ labels: l, scores: scores[i]! })), det, seg },
      gate: {
        scores: [0.9, 0.2, 0.6, 0.4],
        labels: [1, 0, 0, 1],
        positive: [true, false, true, false],
        sources: ['rsna', 'rsna', 'siim', 'siim'],
      },
    };
    const r = summarise(raw, model, { det: { scoreThreshold: 0.5 } });
    const cls = taskMetrics(r, clsTask)!;
    const detM = taskMetrics(r, detTask)!;
    const segM = taskMetrics(r, segTask)!;
    const f1 = f1Score(labels, scores, { classes });
    expect(cls.perClassF1).toEqual(f1.perClass);
    expect(cls.macroF1).toBe(f1.macro);
    expect(cls.perClassAuroc).toEqual(macroAuroc(labels, scores, classes).perClass);
    expect(detM.ap50).toBe(apAt(det));
    expect(detM.positiveAp50).toBe(positiveApAt(det));
    expect(detM.positiveAp50).toBeGreaterThan(detM.ap50); // the false alarm on the negative film is left out
    expect(segM.dice).toBeCloseTo(siimMeanDice(seg), 12);
    expect(segM.positiveDice).toBeCloseTo(positiveMeanDice(seg), 12);
    expect(segM.positiveDice).toBeCloseTo(0.8, 12);
    expect(r.gate!.auroc).toBe(gateRoc(raw.gate.scores, raw.gate.labels).auroc);
    model.dispose();
  });
});
