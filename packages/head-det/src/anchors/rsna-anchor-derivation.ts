import type { DeriveAnchorsOptions } from './derive-anchors';

/** The k-means settings that produced {@link RSNA_ANCHORS} (kept beside them so the derivation can be re-run). */
export const RSNA_ANCHOR_DERIVATION: Readonly<Required<DeriveAnchorsOptions>> = Object.freeze({
  k: 5,
  seed: 2020,
  restarts: 8,
  maxIterations: 300,
});
