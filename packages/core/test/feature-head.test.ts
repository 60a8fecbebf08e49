import { beforeAll, describe, expect, it } from 'vitest';
import {
  DataError,
  FeatureChannelsSchema,
  FeatureHead,
  blockFactory,
  deserializeBlock,
  featureInput,
  initBackend,
  pooledLogitModel,
  serializeBlock,
  taskHead,
  tf,
  z,
  type TaskHead,
} from '../src/index';
import { SMALL_FEATURE_CHANNELS as CHANNELS, disposeFeatures, randomFeatures, runReadmeExample } from '../src/testing';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('featureInput', () => {
  it('returns the level, and names the head and the level when it is missing or has the wrong channel count', () => {
    const f = randomFeatures(1, 64, 1);
    const head = { name: 'probe', featureChannels: CHANNELS };
    expect(featureInput(f, 'c4', head)).toBe(f.c4);
    const { c4: _c4, ...noC4 } = f;
    expect(() => featureInput(noC4 as never, 'c4', head)).toThrow(DataError);
    expect(() => featureInput(noC4 as never, 'c4', head)).toThrow(/probe features.*features with c4.*keys c2, c3, c5/);
    expect(() => featureInput({ ...f, c4: f.c5 }, 'c4', head)).toThrow(
      /probe features\.c4\): expected \[\?, \?, \?, 8\], found \[1, 2, 2, 12\]/,
    );
    disposeFeatures(f);
  });
});

describe('pooledLogitModel', () => {
  it('pools, adds the optional hidden layer and dropout, and names every layer after the block', () => {
    const plain = pooledLogitModel({ name: 'p', seed: 1, channels: 12, hidden: 0, units: 3, outputName: 'logits' });
    expect(plain.layers.map((l) => l.name)).toEqual(['p_features', 'p_pool', 'p_logits']);
    const full = pooledLogitModel({
      name: 'q',
      seed: 1,
      channels: 12,
      hidden: 4,
      dropout: 0.5,
      units: 1,
      outputName: 'logit',
      bias: -2,
    });
    expect(full.layers.map((l) => l.name)).toEqual([
      'q_features',
      'q_pool',
      'q_hidden',
      'q_hidden_relu',
      'q_dropout',
      'q_logit',
    ]);
    expect(Array.from(full.getLayer('q_logit').getWeights()[1]!.dataSync())).toEqual([-2]);
    expect(full.countParams()).toBe(12 * 4 + 4 + 4 * 1 + 1);
    plain.dispose();
    full.dispose();
  });
});

const ProbeSchema = z.object({ featureChannels: FeatureChannelsSchema, name: z.string().default('probe') }).strict();

class ProbeHead extends FeatureHead<tf.Tensor2D, z.output<typeof ProbeSchema>> {
  readonly className = 'core-test/ProbeHead';
  readonly task = 'probe';
  constructor(config: z.output<typeof ProbeSchema>) {
    const { name, featureChannels } = config;
    super(
      config,
      pooledLogitModel({ name, seed: 3, channels: featureChannels.c5, hidden: 0, units: 1, outputName: 'logit' }),
      ['c5'],
    );
  }
  loss(): tf.Scalar {
    return tf.scalar(0);
  }
  decode(): number[] {
    return [];
  }
}
const createProbeHead = blockFactory('core-test/ProbeHead', ProbeSchema, 'probe head config', (c) => new ProbeHead(c));

describe('blockFactory and taskHead', () => {
  it('validate the config once, register the class, and create the head on the encoder channels', () => {
    expect(() => createProbeHead({ featureChannels: CHANNELS, extra: 1 } as never)).toThrow(
      /Invalid probe head config/,
    );
    const entries = taskHead('core-test/ProbeHead', createProbeHead);
    expect(entries.headClassName).toBe('core-test/ProbeHead');
    const head = entries.createHead({ name: 'probe2' }, CHANNELS) as TaskHead & ProbeHead;
    expect(head.config).toEqual({ featureChannels: CHANNELS, name: 'probe2' });
    const again = deserializeBlock<ProbeHead>(JSON.parse(JSON.stringify(serializeBlock(head))));
    expect(again).toBeInstanceOf(ProbeHead);
    expect(again.config).toEqual(head.config);
    head.dispose();
    again.dispose();
  });

  it('the README example builds a head on these pieces and its errors name the level', async () => {
    const lines = await runReadmeExample(new URL('../README.md', import.meta.url), '<!-- example:feature-head');
    expect(lines[0]).toBe('[2,1]');
    expect(lines[1]).toMatch(/lung features\.c4\): expected \[\?, \?, \?, 8\], found \[2, 2, 2, 12\]/);
  });
});
