import { CHESTXRAY14_CLASSES } from '@multichexnet/core';
import type { FindingPainter } from './finding';
import {
  paintBacterialPneumonia,
  paintCovid19,
  paintFungalPneumonia,
  paintTuberculosis,
  paintViralPneumonia,
} from './infection';
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
  ...CHESTXRAY14_CLASSES,
  'Covid19',
  'ViralPneumonia',
  'BacterialPneumonia',
  'FungalPneumonia',
  'Tuberculosis',
] as const;

/** One drawable finding. */
export type FindingKind = (typeof FINDING_KINDS)[number];

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
