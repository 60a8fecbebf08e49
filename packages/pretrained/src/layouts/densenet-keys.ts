import { PRESETS } from '@multichexnet/core-encoder';

/** One tensor a DenseNet-121 state dict must hold, and where it goes in CheXEnc. */
export interface ExpectedTensor {
  /** Canonical torchvision key, e.g. `features.denseblock1.denselayer1.norm1.weight`. */
  key: string;
  /** PyTorch shape (OIHW for convolutions). */
  shape: number[];
  /** CheXEnc weight name without the block-name prefix, e.g. `block1_layer1_1_bn/gamma`. */
  ours: string;
  /** `conv`: OIHW -> HWIO; `vector`: as is. */
  kind: 'conv' | 'vector';
}

const BN: [string, string][] = [
  ['weight', 'gamma'],
  ['bias', 'beta'],
  ['running_mean', 'moving_mean'],
  ['running_var', 'moving_variance'],
];

/**
 * The tensors of torchvision's DenseNet-121 feature extractor (`model.features`), in the order `state_dict()` lists
 * them, with the CheXEnc weight each one becomes. `stemChannels` is the input channels of `features.conv0`.
 */
export function denseNet121Keys(stemChannels: number): ExpectedTensor[] {
  const a = PRESETS.densenet121;
  const out: ExpectedTensor[] = [];
  const bn = (key: string, ours: string, c: number): void => {
    for (const [t, o] of BN) out.push({ key: `${key}.${t}`, shape: [c], ours: `${ours}/${o}`, kind: 'vector' });
  };
  const conv = (key: string, ours: string, o: number, i: number, k: number): void => {
    out.push({ key: `${key}.weight`, shape: [o, i, k, k], ours: `${ours}/kernel`, kind: 'conv' });
  };
  conv('features.conv0', 'stem_conv', a.initFeatures, stemChannels, 7);
  bn('features.norm0', 'stem_bn', a.initFeatures);
  let c = a.initFeatures;
  const width = a.bottleneckWidth * a.growthRate;
  a.blockLayers.forEach((layers, b) => {
    for (let l = 1; l <= layers; l++) {
      const key = `features.denseblock${b + 1}.denselayer${l}`;
      const ours = `block${b + 1}_layer${l}`;
      bn(`${key}.norm1`, `${ours}_1_bn`, c);
      conv(`${key}.conv1`, `${ours}_conv1`, width, c, 1);
      bn(`${key}.norm2`, `${ours}_2_bn`, width);
      conv(`${key}.conv2`, `${ours}_conv2`, a.growthRate, width, 3);
      c += a.growthRate;
    }
    if (b < 3) {
      const out2 = Math.floor(c * a.compression);
      bn(`features.transition${b + 1}.norm`, `transition${b + 1}_bn`, c);
      conv(`features.transition${b + 1}.conv`, `transition${b + 1}_conv`, out2, c, 1);
      c = out2;
    }
  });
  bn('features.norm5', 'final_bn', c);
  return out;
}

/** Channels of DenseNet-121's last feature map (`features.norm5`): the classifier's input. */
export const DENSENET121_FEATURES = 1024;

/**
 * Old torchvision checkpoints (before 0.3, e.g. the one CheXNet reimplementations load) name a dense layer's parts
 * `norm.1` / `conv.1` / `relu.1`; torchvision itself renames them on load. Returns the key in today's form.
 */
export function undotLayerKey(key: string): string {
  return key.replace(/(denselayer\d+\.(?:norm|relu|conv))\.([12])\.(weight|bias|running_mean|running_var)$/, '$1$2.$3');
}
