export { version } from './version';

// --- synthetic data: chest films drawn from a seed, written in the four datasets' real formats (Node)
export { synthesize, SYNTH_GENERATOR_VERSION } from './synthesize';
export type { SynthResult } from './synthesize';
export { SynthConfigSchema } from './config';
export type { SynthConfig, SynthConfigInput } from './config';
// --- one film in memory (browser-safe)
export { renderFilm } from './render';
export type { RenderRequest, RenderedFilm, FindingSpec } from './render';
export { FINDING_KINDS } from './findings/painters';
export type { FindingKind } from './findings/painters';
export type { DrawnFinding } from './scene';
export type { Sex, ViewPosition } from './anatomy';
// --- the marker every fake PHI value of the synthetic DICOMs contains (privacy tests scan for it)
export { SYNTH_PHI_MARKER } from './phi';
// --- images a chest model should refuse (out-of-distribution tests): lateral view, other anatomy, CT, noise, text, textures
export { renderNonChest, writeNonChestSet, NON_CHEST_KINDS } from './non-chest';
export type { NonChestKind, GrayFilm } from './non-chest';
