import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '@multichexnet/core';
import { cli, lines } from './helpers';
import { clsPhase, tinyPlan } from './plans';
import { synthesize } from './reliability-helpers';

/*
 * A damaged model file through `multichexnet predict`: a single byte flipped anywhere (seeded positions across the
 * whole file, the middle included), a file cut short, an empty file, and a run folder whose stage-1 graph was
 * altered. Each must be refused with one error line naming the file, exit code 1 or 2, nothing on stdout and
 * nothing written where --out and --overlay point. The intact model predicts (the control).
 */
let dir: string;
let image: string;
let model: Uint8Array;
const FLIPS = 8;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcx-cli-model-'));
  const data = await synthesize(dir, 'data', { nih: 16, rsna: 0, siim: 0 }, 3);
  image = join(data, 'nih', 'images', readdirSync(join(data, 'nih', 'images')).sort()[0]!);
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(tinyPlan('model-files', 2, [clsPhase('cls', 2)])));
  const r = await cli(dir, 'train', 'plan.json', '--data', 'data', '--run', 'runs/m', '--no-report', '--no-eval');
  expect(r.code, r.err).toBe(0);
  model = new Uint8Array(readFileSync(join(dir, 'runs', 'm', 'model.onnx')));
}, 120_000);

/** `predict` of the film with `modelPath`, its results to `out` and its overlays to `overlays`. */
const predictWith = (modelPath: string, out: string, overlays: string) =>
  cli(dir, 'predict', '--model', modelPath, image, '--out', out, '--overlay', overlays);

/** Runs predict on `modelPath` with --out and --overlay and checks the refusal. */
async function expectRefused(modelPath: string, tag: string): Promise<string> {
  const out = join(dir, `out-${tag}.json`);
  const overlays = join(dir, `overlays-${tag}`);
  const r = await predictWith(modelPath, out, overlays);
  expect([1, 2], `${tag}: exit ${r.code}`).toContain(r.code);
  expect(r.out, tag).toBe('');
  const errorLines = lines(r.err).filter((l) => l.startsWith('multichexnet: error:'));
  expect(errorLines, `${tag}: ${r.err}`).toHaveLength(1);
  expect(
    lines(r.err).filter((l) => !l.startsWith('multichexnet: error:') && !/^backend /.test(l)),
    tag,
  ).toEqual([]);
  expect(existsSync(out), `${tag}: --out written`).toBe(false);
  expect(existsSync(overlays), `${tag}: --overlay written`).toBe(false);
  return errorLines[0]!;
}

describe('predict refuses a damaged model file', () => {
  it('the intact model predicts (control)', async () => {
    const r = await predictWith(join('runs', 'm', 'model.onnx'), 'out-ok.json', 'overlays-ok');
    expect(r.code, r.err).toBe(0);
    expect(existsSync(join(dir, 'out-ok.json'))).toBe(true);
  });

  it(`a single flipped bit at ${FLIPS} seeded positions, the middle of the file included`, async () => {
    const rng = createRng(12);
    const positions = [
      Math.floor(model.length / 2),
      ...Array.from({ length: FLIPS - 1 }, () => rng.int(0, model.length)),
    ];
    for (const [k, at] of positions.entries()) {
      const bytes = model.slice();
      bytes[at]! ^= 1 << rng.int(0, 8);
      const file = join(dir, `flipped-${k}.onnx`);
      writeFileSync(file, bytes);
      const line = await expectRefused(file, `flip-${k}`);
      expect(line, `byte ${at}`).toContain(file);
    }
  });

  it('a file cut short (half, all but the last byte) or empty', async () => {
    for (const [tag, length] of [
      ['half', Math.floor(model.length / 2)],
      ['last-byte', model.length - 1],
      ['empty', 0],
    ] as const) {
      const file = join(dir, `truncated-${tag}.onnx`);
      writeFileSync(file, model.subarray(0, length));
      expect(await expectRefused(file, `truncated-${tag}`)).toContain(file);
    }
  });

  it('a run folder whose stage-1 graph was altered', async () => {
    const run = join(dir, 'runs', 'tampered');
    cpSync(join(dir, 'runs', 'm'), run, { recursive: true });
    const stage1 = join(run, 'model.stage1.onnx');
    const bytes = new Uint8Array(readFileSync(stage1));
    bytes[Math.floor(bytes.length / 2)]! ^= 0x80;
    writeFileSync(stage1, bytes);
    expect(await expectRefused(run, 'run-folder')).toContain('model.stage1.onnx');
  });
});
