import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { startServer, type RunningServer } from '../src/index';
import { writeOodTestModel } from './helpers/model';

/*
 * The service's out-of-distribution answers (422 refusal, flag), the calibrated flag, and the class activation maps
 * on request, on a model exported with OOD statistics, temperatures and maps.
 */

let root: string;
let modelDir: string;
let images: { film: Uint8Array; text: Uint8Array };
let refuse: RunningServer;
let flag: RunningServer;
const post = (url: string, body: Uint8Array): Promise<Response> =>
  fetch(url, { method: 'POST', body: Buffer.from(body), headers: { 'content-type': 'image/png' } });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mcx-serve-ood-'));
  modelDir = join(root, 'model');
  images = await writeOodTestModel(modelDir);
  refuse = await startServer({ model: modelDir, port: 0, concurrency: 1, logLevel: 'silent' });
  flag = await startServer({ model: modelDir, port: 0, concurrency: 1, logLevel: 'silent', ood: 'flag' });
}, 120_000);

afterAll(async () => {
  await refuse?.close();
  await flag?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('serve: OOD refusal and calibrated probabilities', () => {
  it('answers a frontal film 200, calibrated, in distribution', async () => {
    const res = await post(`${refuse.url}/v1/predict`, images.film);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expect(body.calibrated).toBe(true);
    expect(body.ood).toMatchObject({ outOfDistribution: false, decision: 'in-distribution' });
    expect(body.refused).toBeUndefined();
    expect(Object.keys(body.probabilities)).toHaveLength(14);
  });

  it('refuses a page of text with 422 OutOfDistribution, the one-line reason and no findings', async () => {
    const res = await post(`${refuse.url}/v1/predict`, images.text);
    expect(res.status).toBe(422);
    const body = (await res.json()) as Record<string, any>;
    expect(body.error).toBe('OutOfDistribution');
    expect(body.message).toMatch(
      /^upload: refused: not like the frontal chest X-rays the model was trained on \(OOD score [\d.]+ > threshold [\d.]+\)$/,
    );
    expect(body).toMatchObject({
      refused: true,
      probabilities: {},
      boxes: [],
      ood: { outOfDistribution: true, decision: 'refused' },
      image: { format: 'png' },
    });
    expect(body.ood.score).toBeGreaterThan(body.ood.threshold);
  });

  it('under --ood flag answers the same page 200 with its findings, flagged', async () => {
    const res = await post(`${flag.url}/v1/predict`, images.text);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expect(body.ood).toMatchObject({ outOfDistribution: true, decision: 'flagged' });
    expect(Object.keys(body.probabilities)).toHaveLength(14);
  });
});

describe('serve: class activation maps on request', () => {
  it('?maps=grid gives each finding its grid and peak; ?maps=png a heatmap PNG at the image size', async () => {
    const grid = (await (await post(`${refuse.url}/v1/predict?maps=grid`, images.film)).json()) as Record<string, any>;
    expect(Object.keys(grid.maps)).toEqual(['Pneumonia']);
    const g = grid.maps.Pneumonia;
    expect(g.grid).toMatchObject({ width: 2, height: 2, stride: 32 });
    expect(g.grid.values).toHaveLength(4);
    expect(Math.max(...g.grid.values)).toBeCloseTo(g.peak.value, 3);
    const png = (await (await post(`${refuse.url}/v1/predict?maps=png`, images.film)).json()) as Record<string, any>;
    const url: string = png.maps.Pneumonia.png;
    expect(url.startsWith('data:image/png;base64,')).toBe(true);
    const img = decode(Buffer.from(url.slice('data:image/png;base64,'.length), 'base64'));
    expect([img.width, img.height, img.channels]).toEqual([128, 128, 4]);
    const plain = (await (await post(`${refuse.url}/v1/predict`, images.film)).json()) as Record<string, any>;
    expect(plain.maps).toBeUndefined();
  });

  it("&classes= adds the maps of the classes named to the findings' maps; an unknown class or classes without maps is 400", async () => {
    const both = (await (
      await post(`${refuse.url}/v1/predict?maps=grid&classes=Mass,Nodule`, images.film)
    ).json()) as Record<string, any>;
    expect(Object.keys(both.maps).sort()).toEqual(['Mass', 'Nodule', 'Pneumonia']);
    expect(both.maps.Mass.grid.values).toHaveLength(both.maps.Mass.grid.width * both.maps.Mass.grid.height);
    // the default stays the findings only, although the service's pipeline decodes every class's map
    const findingsOnly = (await (await post(`${refuse.url}/v1/predict?maps=grid`, images.film)).json()) as Record<
      string,
      any
    >;
    expect(Object.keys(findingsOnly.maps)).toEqual(['Pneumonia']);
    const unknown = await post(`${refuse.url}/v1/predict?maps=png&classes=Mass,Lung_Opacity`, images.film);
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { message: string }).message).toMatch(
      /^query classes: Lung_Opacity is not a class of the model \(Atelectasis, /,
    );
    const alone = await post(`${refuse.url}/v1/predict?classes=Mass`, images.film);
    expect(alone.status).toBe(400);
    expect(((await alone.json()) as { message: string }).message).toMatch(/classes goes with maps=png or maps=grid/);
  });

  it('answers 400 to an unknown maps format, and a refused image carries no maps', async () => {
    const bad = await post(`${refuse.url}/v1/predict?maps=jpeg`, images.film);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/maps must be png or grid/);
    const refused = (await (await post(`${refuse.url}/v1/predict?maps=png`, images.text)).json()) as Record<
      string,
      any
    >;
    expect(refused.maps).toEqual({});
  });
});
