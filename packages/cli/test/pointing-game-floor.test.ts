import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  binomialUpperTail,
  checkPointingGameFloor,
  POINTING_GAME_FLOOR,
  type PointingGameClassResult,
  type PointingGameReport,
} from '../src/run/pointing-game';

const PYTHON = '/usr/bin/python3';
const ARTIFACT = fileURLToPath(new URL('../../../results/pointing-game-quickstart.json', import.meta.url));

const row = (trials: number, tolerantHits: number, tolerantChance: number): PointingGameClassResult => ({
  trials,
  hits: 0,
  accuracy: 0,
  tolerantHits,
  tolerantAccuracy: tolerantHits / trials,
  chance: 0,
  tolerantChance,
});

function report(classes: Record<string, PointingGameClassResult>): PointingGameReport {
  const all = Object.values(classes);
  const trials = all.reduce((a, r) => a + r.trials, 0);
  const hits = all.reduce((a, r) => a + r.tolerantHits, 0);
  const chance = all.reduce((a, r) => a + r.tolerantChance * r.trials, 0) / trials;
  return {
    format: 'multichexnet-pointing-game',
    model: 'in memory',
    settings: { films: 40, size: 128, seed: 1, tolerance: 16, stride: 32 },
    classes,
    overall: row(trials, hits, chance),
  };
}

describe('pointing-game floor', () => {
  it('binomial upper tail agrees with scipy.stats.binom.sf', () => {
    const cases: [number, number, number][] = [
      [97, 440, 0.163],
      [72, 440, 0.163],
      [0, 10, 0.3],
      [10, 10, 0.3],
      [1, 1, 0.5],
      [30, 40, 0.23],
      [1500, 5000, 0.28],
    ];
    const script =
      'import json,sys\nfrom scipy.stats import binom\n' +
      'print(json.dumps([float(binom.sf(k - 1, n, p)) for k, n, p in json.load(sys.stdin)]))';
    const res = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(cases), encoding: 'utf8' });
    expect(res.error, `${PYTHON} with scipy is needed (python3-scipy in .ci/system-deps)`).toBeUndefined();
    expect(res.status, res.stderr).toBe(0);
    const ref = JSON.parse(res.stdout) as number[];
    cases.forEach(([k, n, p], i) => {
      const ours = binomialUpperTail(k, n, p);
      expect(Math.abs(ours - ref[i]!), `P(X >= ${k}), n ${n}, p ${p}`).toBeLessThan(1e-9 + 1e-9 * ref[i]!);
    });
  });

  it('holds only when the maps beat chance overall and every detected class reaches twice its chance', () => {
    const good = report({ Pneumothorax: row(40, 28, 0.23), Mass: row(40, 5, 0.1), Nodule: row(40, 3, 0.07) });
    const v = checkPointingGameFloor(good, { Pneumothorax: 0.96, Mass: 0.6, Nodule: 0.55 });
    expect(v.floor).toEqual(POINTING_GAME_FLOOR);
    expect(v.detected.map((d) => d.className)).toEqual(['Pneumothorax']);
    expect(v.overall.pValue).toBeLessThan(0.01);
    expect(v.holds).toBe(true);
    // a detected class below twice its chance fails the floor
    expect(checkPointingGameFloor(good, { Pneumothorax: 0.96, Nodule: 0.9 }).holds).toBe(false);
    // hits at the chance level overall fail it, whatever the classes
    const atChance = report({ Mass: row(100, 10, 0.1), Nodule: row(100, 7, 0.07) });
    const c = checkPointingGameFloor(atChance, {});
    expect(c.overall.pValue).toBeGreaterThan(0.4);
    expect(c.holds).toBe(false);
  });

  it("the committed quickstart artifact's verdict is recomputed from its own numbers", () => {
    expect(existsSync(ARTIFACT)).toBe(true);
    const a = JSON.parse(readFileSync(ARTIFACT, 'utf8')) as {
      perClassAuroc: Record<string, number>;
      floor: unknown;
      result: PointingGameReport;
    };
    expect(checkPointingGameFloor(a.result, a.perClassAuroc)).toEqual(a.floor);
  });
});
