import type { Rng } from '@multichexnet/core';
import type { Anatomy, Pose } from '../anatomy';
import type { DrawnFinding, Scene } from '../scene';
import { paintBacterialPneumonia, paintCovid19, paintFungalPneumonia, paintTuberculosis, paintViralPneumonia } from './infection';
import { paintConsolidation, paintEdema, paintInfiltration, paintPneumonia } from './opacity';
import { paintEffusion, paintPleuralThickening, paintPneumothorax } from './pleura';
import { paintMass, paintNodule } from './focal';
import { paintAtelectasis, paintCardiomegaly, paintEmphysema, paintFibrosis, paintHernia } from './structural';

/**
 * What the generator can draw: the 14 ChestX-ray14 labels (exact spellings), and the infection patterns of
 * the COVID-19 collection. `Covid19` is drawn ONLY in the COVID set, so it stays a disease the NIH/RSNA/SIIM
 * models have never seen (the transfer-learning experiment).
 */
export const FINDING_KINDS = [
  'Atelectasis',
  'Cardiomegaly',
  'Effusion',
  'Infiltration',
  'Mass',
  'Nodule',
  'Pneumonia',
  'Pneumothorax',
  'Consolidation',
  'Edema',
  'Emphysema',
  'Fibrosis',
  'Pleural_Thickening',
  'Hernia',
  'Covid19',
  'ViralPneumonia',
  'BacterialPneumonia',
  'FungalPneumonia',
  'Tuberculosis',
] as const;

/** One drawable finding. */
export type FindingKind = (typeof FINDING_KINDS)[number];

/** Options of one finding: `count` separate instances where that applies, `severity` in [0, 1]. */
export interface FindingOptions {
  count?: number;
  severity?: number;
}

/**
 * The three moments a finding can act, sharing state through the closure: `adjust` changes the patient's
 * anatomy before any geometry exists (a big heart, a flat diaphragm, volume loss); `prepare` runs on the
 * geometry before the normal anatomy is drawn (a pneumothorax removes lung markings); `draw` adds the
 * finding's own densities. Each returns the drawn instances (masks and boxes) where it has any.
 */
export interface FindingSteps {
  adjust?(a: Anatomy, pose: Pose): void;
  prepare?(scene: Scene): DrawnFinding[];
  draw?(scene: Scene): DrawnFinding[];
}

/** Creates the steps of one finding from its own random stream. */
export type FindingPainter = (rng: Rng, opts: FindingOptions) => FindingSteps;

/** Severity in [0, 1]: the given one, else a random moderate-to-marked one. */
export function severityOf(rng: Rng, opts: FindingOptions): number {
  return opts.severity ?? rng.uniform(0.35, 1);
}

/** The painter of every finding kind. */
export const FINDING_PAINTERS: Readonly<Record<FindingKind, FindingPainter>> = {
  Atelectasis: paintAtelectasis,
  Cardiomegaly: paintCardiomegaly,
  Effusion: paintEffusion,
  Infiltration: paintInfiltration,
  Mass: paintMass,
  Nodule: paintNodule,
  Pneumonia: paintPneumonia,
  Pneumothorax: paintPneumothorax,
  Consolidation: paintConsolidation,
  Edema: paintEdema,
  Emphysema: paintEmphysema,
  Fibrosis: paintFibrosis,
  Pleural_Thickening: paintPleuralThickening,
  Hernia: paintHernia,
  Covid19: paintCovid19,
  ViralPneumonia: paintViralPneumonia,
  BacterialPneumonia: paintBacterialPneumonia,
  FungalPneumonia: paintFungalPneumonia,
  Tuberculosis: paintTuberculosis,
};
