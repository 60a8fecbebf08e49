import { createRng, tf } from '@multichexnet/core';

/** Seeded standard-normal image batch [B, H, W, C], NHWC. */
export function image(seed: number, shape: [number, number, number, number]): tf.Tensor4D {
  const rng = createRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(
    Float32Array.from({ length: n }, () => rng.normal()),
    shape,
  );
}
