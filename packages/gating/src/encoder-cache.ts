import { DataError, tf, type ApplyOptions, type EncoderFeatures } from '@multichexnet/core';
import { gatherRows } from './gather-rows';

/** Anything that maps an image batch [B, H, W, C] to encoder features (CheXEnc). */
export interface FeatureEncoder {
  /** Features {c2, c3, c4, c5} [B, H/s, W/s, C_l], NHWC, s = 4/8/16/32, of images [B, H, W, C]. */
  apply(images: tf.Tensor4D, opts?: ApplyOptions): EncoderFeatures;
}

/**
 * One encoder pass per batch, shared by the classifier, the gate and the det/seg heads.
 *
 * `features(images)` runs the encoder the first time it sees a batch and returns the same tensors for every later
 * call with the same `images` tensor and mode; `rows(indices)` gathers the rows of the gate's positives for the
 * det/seg heads. The cache owns the feature tensors: they stay valid until the next batch or {@link clear}
 * (inside `tf.tidy` or a gradient closure the enclosing scope may free them first; a freed entry is recomputed).
 */
export interface EncoderCache {
  /** Encoder passes run so far (what the "encoder runs once per batch" guarantee is measured by). */
  readonly passes: number;
  /** Features of `images` [B, H, W, C], computed once per batch and mode. */
  features(images: tf.Tensor4D, opts?: ApplyOptions): EncoderFeatures;
  /** Rows `indices` of the cached batch's features ([K, ...] each level); new tensors owned by the caller. */
  rows(indices: readonly number[] | Int32Array): EncoderFeatures;
  /** Frees the cached features (if not freed already) and forgets the batch. */
  clear(): void;
}

interface Entry {
  imagesId: number;
  training: boolean;
  features: EncoderFeatures;
}

function alive(f: EncoderFeatures): boolean {
  return !(f.c2.isDisposed || f.c3.isDisposed || f.c4.isDisposed || f.c5.isDisposed);
}

class EncoderCacheImpl implements EncoderCache {
  private entry: Entry | null = null;
  private count = 0;

  constructor(private readonly encoder: FeatureEncoder) {}

  get passes(): number {
    return this.count;
  }

  features(images: tf.Tensor4D, opts?: ApplyOptions): EncoderFeatures {
    const training = opts?.training === true;
    const e = this.entry;
    if (e !== null && e.imagesId === images.id && e.training === training && alive(e.features)) return e.features;
    this.clear();
    const features = this.encoder.apply(images, { training });
    this.count++;
    this.entry = { imagesId: images.id, training, features };
    return features;
  }

  rows(indices: readonly number[] | Int32Array): EncoderFeatures {
    if (this.entry === null || !alive(this.entry.features)) {
      throw new DataError('EncoderCache.rows() before features() of this batch', {
        field: 'EncoderCache',
        expected: 'features(images) called first',
        found: 'no cached batch',
      });
    }
    return gatherRows(this.entry.features, indices);
  }

  clear(): void {
    if (this.entry !== null) {
      const f = this.entry.features;
      // Disposing a tensor twice is harmless in tfjs; freeing one the tape still needs is not, hence "after grads".
      tf.dispose([f.c2, f.c3, f.c4, f.c5]);
      this.entry = null;
    }
  }
}

/**
 * Wraps an encoder so the gate and the heads share one encoder pass per batch.
 *
 * @example
 * const cache = createEncoderCache(encoder);
 * const probs = tf.sigmoid(cls.apply(cache.features(images)));
 * const positives = gate.decide(probs).flatMap((d, i) => (d.positive ? [i] : []));
 * const masks = seg.apply(cache.rows(positives));   // no second encoder pass: cache.passes === 1
 */
export function createEncoderCache(encoder: FeatureEncoder): EncoderCache {
  return new EncoderCacheImpl(encoder);
}
