import { DataError, assertShape, parseConfig, tf, type EncoderFeatures, type GateDecision } from '@multichexnet/core';
import { GateConfigSchema, type GateConfig, type GateConfigInput } from './config';
import { createGateHead, type GateHead } from './gate-head';

/** Class probabilities [B, C] in the cls head's class order: a tensor or plain rows. */
export type ClassProbabilities = tf.Tensor2D | readonly ArrayLike<number>[];

/** What a gate reads: class probabilities (`cls-path`) or encoder features (`binary-head`). */
export type GateInput = ClassProbabilities | EncoderFeatures;

/**
 * The first-stage gate. `decide` turns one batch into one {@link GateDecision} per image; which input it reads
 * is given by `reads`.
 */
export interface Gate {
  readonly kind: GateConfig['kind'];
  /** `probabilities` for `cls-path` (cls sigmoid outputs), `features` for `binary-head`. */
  readonly reads: 'probabilities' | 'features';
  /** The resolved config, reflecting the current threshold. */
  readonly config: GateConfig;
  /** Probability at or above which an image is positive. */
  readonly threshold: number;
  /** Sets the threshold (e.g. the one {@link chooseThreshold} found on validation data). */
  setThreshold(threshold: number): void;
  /** The dedicated head of a `binary-head` gate (null for `cls-path`): train it, save it, nest it. */
  readonly head: GateHead | null;
  /** Gate probability [B] of a batch (plain numbers). */
  score(input: GateInput): Float32Array;
  /** One decision per image. */
  decide(input: GateInput): GateDecision[];
  /** Frees the head's variables (nothing for `cls-path`). */
  dispose(): void;
}

function isFeatures(x: GateInput): x is EncoderFeatures {
  return typeof x === 'object' && x !== null && !(x instanceof tf.Tensor) && !Array.isArray(x) && 'c5' in x;
}

function rowsOf(p: ClassProbabilities, classCount: number): { data: ArrayLike<number>; rows: number } {
  if (p instanceof tf.Tensor) {
    assertShape('gate probabilities', p.shape, [null, classCount]);
    return { data: p.dataSync(), rows: p.shape[0] };
  }
  const flat = new Float32Array(p.length * classCount);
  p.forEach((row, i) => {
    if (row.length !== classCount) {
      throw new DataError('Gate probability row has the wrong length', {
        row: i + 1,
        field: 'probabilities',
        expected: `${classCount} values (classNames)`,
        found: `${row.length}`,
      });
    }
    for (let c = 0; c < classCount; c++) flat[i * classCount + c] = row[c]!;
  });
  return { data: flat, rows: p.length };
}

/** The config and threshold handling both kinds of gate share; `cfg` is replaced, never mutated. */
abstract class ThresholdGate<C extends GateConfig> {
  protected cfg: C;

  constructor(cfg: C) {
    this.cfg = cfg;
  }

  get config(): GateConfig {
    return JSON.parse(JSON.stringify(this.cfg)) as GateConfig;
  }

  get threshold(): number {
    return this.cfg.threshold;
  }

  setThreshold(threshold: number): void {
    if (!(threshold >= 0 && threshold <= 1)) {
      throw new DataError('Gate threshold must be a probability', {
        field: 'threshold',
        expected: 'a number in [0, 1]',
        found: String(threshold),
      });
    }
    this.cfg = { ...this.cfg, threshold };
  }
}

class ClsPathGate extends ThresholdGate<Extract<GateConfig, { kind: 'cls-path' }>> implements Gate {
  readonly kind = 'cls-path' as const;
  readonly reads = 'probabilities' as const;
  readonly head = null;
  private readonly indices: number[];

  constructor(cfg: Extract<GateConfig, { kind: 'cls-path' }>) {
    super(cfg);
    this.indices = cfg.classes.map((c) => cfg.classNames.indexOf(c));
  }

  score(input: GateInput): Float32Array {
    return this.evaluate(input).score;
  }

  decide(input: GateInput): GateDecision[] {
    const { score, positive } = this.evaluate(input);
    return Array.from(score, (probability, i) => ({ probability, positive: positive[i]! }));
  }

  private evaluate(input: GateInput): { score: Float32Array; positive: boolean[] } {
    if (isFeatures(input)) {
      throw new DataError('A cls-path gate reads class probabilities, not encoder features', {
        field: 'gate input',
        expected: `probabilities [B, ${this.cfg.classNames.length}]`,
        found: 'encoder features',
      });
    }
    const C = this.cfg.classNames.length;
    const { data, rows } = rowsOf(input, C);
    const score = new Float32Array(rows);
    const positive: boolean[] = [];
    const perClass = this.indices.map(
      (idx) => this.cfg.classThresholds?.[this.cfg.classNames[idx]!] ?? this.cfg.threshold,
    );
    for (let b = 0; b < rows; b++) {
      let best = -Infinity;
      let any = false;
      this.indices.forEach((idx, k) => {
        const p = data[b * C + idx]!;
        if (Number.isNaN(p)) {
          throw new DataError('Gate probability is NaN', {
            row: b + 1,
            field: this.cfg.classNames[idx],
            expected: 'a probability in [0, 1]',
            found: 'NaN',
          });
        }
        if (p > best) best = p;
        if (p >= perClass[k]!) any = true;
      });
      score[b] = best;
      positive.push(this.cfg.reduce === 'any' ? any : best >= this.cfg.threshold);
    }
    return { score, positive };
  }

  dispose(): void {}
}

class BinaryHeadGate extends ThresholdGate<Extract<GateConfig, { kind: 'binary-head' }>> implements Gate {
  readonly kind = 'binary-head' as const;
  readonly reads = 'features' as const;
  readonly head: GateHead;

  constructor(cfg: Extract<GateConfig, { kind: 'binary-head' }>) {
    super(cfg);
    this.head = createGateHead(cfg.head);
  }

  score(input: GateInput): Float32Array {
    if (!isFeatures(input)) {
      throw new DataError('A binary-head gate reads encoder features, not class probabilities', {
        field: 'gate input',
        expected: 'encoder features {c2, c3, c4, c5}',
        found: 'probabilities',
      });
    }
    return Float32Array.from(tf.tidy(() => tf.sigmoid(this.head.apply(input)).dataSync()));
  }

  decide(input: GateInput): GateDecision[] {
    return Array.from(this.score(input), (probability) => ({
      probability,
      positive: probability >= this.cfg.threshold,
    }));
  }

  dispose(): void {
    this.head.dispose();
  }
}

/**
 * Creates the first-stage gate that keeps negative images away from the det/seg heads. Validates the config once
 * (a ConfigError names the field).
 *
 * - `cls-path`: reads the MTL classifier's probabilities [B, C]; the gate probability is the max over `classes`.
 * - `binary-head`: a dedicated small binary classifier over the encoder features (its own registered block,
 *   `gate.head`, trained with a masked BCE on logits).
 *
 * @example
 * const gate = createGate({ kind: 'cls-path', classes: ['Pneumonia', 'Pneumothorax'], classNames: cls.config.classes });
 * gate.decide(tf.sigmoid(cls.apply(features)));   // [{ probability: 0.81, positive: true }, ...]
 */
export function createGate(config: GateConfigInput): Gate {
  const cfg = parseConfig(GateConfigSchema, config, 'gate config');
  return cfg.kind === 'cls-path' ? new ClsPathGate(cfg) : new BinaryHeadGate(cfg);
}
