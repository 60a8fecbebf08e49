import { describe, expect, it } from 'vitest';
import { ConfigError, DataError, createRng, deriveSeed, initBackend, parseConfig, tf, z } from '../src/index';

describe('parseConfig', () => {
  const schema = z
    .object({ growthRate: z.number().int().positive(), blocks: z.array(z.number().int().min(1)) })
    .strict();
  it('returns the resolved config', () => {
    expect(parseConfig(schema, { growthRate: 32, blocks: [6, 12] })).toEqual({ growthRate: 32, blocks: [6, 12] });
  });
  it('names the field, the rule and the value', () => {
    let err: unknown;
    try {
      parseConfig(schema, { growthRate: -1, blocks: [6, 0], extra: true }, 'encoder config');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('Invalid encoder config');
    expect(msg).toMatch(/growthRate: must be > 0; received -1/);
    expect(msg).toMatch(/blocks\.1: must be >= 1; received 0/);
    expect(msg).toMatch(/unknown key\(s\) "extra"/);
  });
});

describe('DataError', () => {
  it('formats file, row, field, expected and found', () => {
    const e = new DataError('Bad box', {
      file: 'a.csv',
      row: 3,
      field: 'width',
      expected: 'a number >= 0',
      found: '"-4"',
    });
    expect(e.message).toBe('Bad box (file a.csv, row 3, field width): expected a number >= 0, found "-4"');
  });
});

describe('createRng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
    expect(deriveSeed(1, 'x')).toBe(deriveSeed(1, 'x'));
    expect(deriveSeed(1, 'x')).not.toBe(deriveSeed(1, 'y'));
  });
  it('draws normals with the right moments', () => {
    const r = createRng('moments');
    const draws = Array.from({ length: 20000 }, () => r.normal());
    const moment = (k: number) => draws.reduce((sum, v) => sum + v ** k, 0) / draws.length;
    expect(Math.abs(moment(1))).toBeLessThan(0.03);
    expect(Math.abs(moment(2) - 1)).toBeLessThan(0.05);
  });
});

describe('initBackend', () => {
  it('chooses wasm in Node without tfjs-node and computes', async () => {
    const info = await initBackend();
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    const y = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])));
    expect(Array.from(await y.data())).toEqual([4, 6]);
    y.dispose();
  });
  it('explains how to install tensorflow when it is missing', async () => {
    await expect(initBackend('tensorflow')).rejects.toThrow(/npm install @tensorflow\/tfjs-node@4\.22\.0/);
    await initBackend('wasm');
  });
});
