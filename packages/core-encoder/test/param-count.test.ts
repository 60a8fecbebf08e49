import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ENCODER_PRESETS, PRESETS, createEncoder, type DenseNetArchitecture, type Encoder } from '../src/index';

/**
 * Parameter count of DenseNet-BC from its definition, independent of the implementation: stem conv7x7 (no bias)
 * + BN; per dense layer BN(C) + conv1x1 C -> bw*k + BN(bw*k) + conv3x3 bw*k -> k (or BN(C) + conv3x3 C -> k
 * without bottleneck); per transition BN(C) + conv1x1 C -> floor(theta C); a final BN. BN has 2 trainable
 * (gamma, beta) and 2 non-trainable (moving mean, variance) values per channel.
 */
function expectedParams(a: DenseNetArchitecture, inputChannels: number): { trainable: number; nonTrainable: number } {
  let conv = 7 * 7 * inputChannels * a.initFeatures;
  let bnChannels = a.initFeatures;
  let c = a.initFeatures;
  a.blockLayers.forEach((layers, b) => {
    for (let l = 0; l < layers; l++) {
      bnChannels += c;
      if (a.bottleneckWidth > 0) {
        const w = a.bottleneckWidth * a.growthRate;
        conv += c * w + 9 * w * a.growthRate;
        bnChannels += w;
      } else {
        conv += 9 * c * a.growthRate;
      }
      c += a.growthRate;
    }
    bnChannels += c;
    if (b < 3) {
      const out = Math.floor(c * a.compression);
      conv += c * out;
      c = out;
    }
  });
  return { trainable: conv + 2 * bnChannels, nonTrainable: 2 * bnChannels };
}

function trainableCount(e: Encoder): number {
  return e.trainableWeights.reduce((s, w) => s + (w.shape as number[]).reduce((x, y) => x * y, 1), 0);
}

// Counting needs no particular backend; building on the default one keeps this test independent of the wasm kernels.

describe('parameter counts', () => {
  it('DenseNet-121 matches the architecture formula and the published feature-extractor count', () => {
    const rgb = createEncoder({ preset: 'densenet121', inputChannels: 3 });
    const exp3 = expectedParams(PRESETS.densenet121, 3);
    expect(trainableCount(rgb)).toBe(exp3.trainable);
    expect(rgb.countParams()).toBe(exp3.trainable + exp3.nonTrainable);
    // Published reference for RGB input: Keras DenseNet121(include_top=False) reports 7,037,504 parameters, of which
    // 6,953,856 trainable (torchvision's densenet121 has 7,978,856 with its 1000-class 1024x1000+1000 classifier).
    expect(rgb.countParams()).toBe(7_037_504);
    expect(trainableCount(rgb)).toBe(6_953_856);
    expect(trainableCount(rgb)).toBe(7_978_856 - (1024 * 1000 + 1000));
    expect(rgb.featureChannels).toEqual({ c2: 256, c3: 512, c4: 1024, c5: 1024 });
    rgb.dispose();

    // CheXNet takes grey radiographs: one input channel removes 7*7*2*64 stem weights.
    const gray = createEncoder({ preset: 'densenet121' });
    const exp1 = expectedParams(PRESETS.densenet121, 1);
    expect(trainableCount(gray)).toBe(exp1.trainable);
    expect(trainableCount(gray)).toBe(6_953_856 - 7 * 7 * 2 * 64);
    expect(gray.countParams()).toBe(exp1.trainable + exp1.nonTrainable);
    gray.dispose();
  });

  it('every preset matches the formula, and the README table states the computed counts', () => {
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    const rows: string[] = [];
    for (const preset of ENCODER_PRESETS) {
      const enc = createEncoder({ preset });
      const exp = expectedParams(PRESETS[preset], 1);
      expect(trainableCount(enc), preset).toBe(exp.trainable);
      expect(enc.countParams(), preset).toBe(exp.trainable + exp.nonTrainable);
      const ch = enc.featureChannels;
      const a = PRESETS[preset];
      rows.push(
        `| \`${preset}\` | ${a.initFeatures} | ${a.growthRate} | ${a.blockLayers.join('-')} | ${a.bottleneckWidth} | ` +
          `${exp.trainable.toLocaleString('en-US')} | ${enc.countParams().toLocaleString('en-US')} | ${ch.c2} / ${ch.c3} / ${ch.c4} / ${ch.c5} |`,
      );
      enc.dispose();
    }
    const table = rows.join('\n');
    // Regenerate the README table from this output if the architecture changes.
    expect(readme, `README.md must contain the computed table:\n${table}`).toContain(table);
  });

  it('no-bottleneck variant matches the formula too', () => {
    const arch = { ...PRESETS['densenet-tiny'], bottleneckWidth: 0, compression: 0.7 };
    const enc = createEncoder({ preset: 'densenet-tiny', bottleneckWidth: 0, compression: 0.7 });
    expect(trainableCount(enc)).toBe(expectedParams(arch, 1).trainable);
    enc.dispose();
  });
});
