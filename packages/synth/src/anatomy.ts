import type { Rng } from '@multichexnet/core';

/*
 * A patient's thoracic anatomy in normalised coordinates of an upright PA film (u right, v down). Image-left is
 * the patient's right side (radiological convention), so the heart bulges to image-right and the right
 * hemidiaphragm (image-left) sits higher. Drawn once per patient, so follow-up films of one NIH patient share
 * their anatomy and only the pose, exposure and findings change.
 */

/** Sex of a synthetic patient, as written in the label files. */
export type Sex = 'M' | 'F';

/** Projection of a film. `L` is a lateral view (only in the COVID collection). */
export type ViewPosition = 'PA' | 'AP' | 'AP Supine' | 'L';

/** Normalised anatomy of one patient. */
export interface Anatomy {
  sex: Sex;
  /** Midline u. */
  mid: number;
  /** v of the lung apices. */
  lungTop: number;
  /** v of the top of the right (image-left) and left (image-right) hemidiaphragm domes. */
  domeR: number;
  domeL: number;
  /** How far below the dome top the costophrenic angles are (v units). */
  cpDepth: number;
  /** Distance midline -> lateral lung wall at its widest. */
  lungHalfWidth: number;
  /** Distance midline -> medial lung border (half the width of the mediastinum). */
  medialHalf: number;
  /** Distance midline -> skin line. */
  bodyHalf: number;
  /** Cardiac silhouette: lateral reach of the left border (apex) and of the right border from the midline,
   * height above the left dome, and a size factor (1 = normal; cardiomegaly raises it). */
  heartLeft: number;
  heartRight: number;
  heartHeight: number;
  heartScale: number;
  /** Vertical spacing and half width of the posterior ribs. */
  ribSpacing: number;
  ribHalf: number;
  /** Soft-tissue and air scale factors (body habitus). */
  tissue: number;
  air: number;
  /** Breast shadows (only drawn for F). */
  breast: number;
}

/** Draws a plausible adult anatomy. */
export function drawAnatomy(rng: Rng, sex: Sex): Anatomy {
  const male = sex === 'M';
  const domeR = rng.uniform(0.63, 0.69);
  return {
    sex,
    mid: 0.5 + rng.normal(0, 0.008),
    lungTop: rng.uniform(0.1, 0.145),
    domeR,
    domeL: domeR + rng.uniform(0.012, 0.035),
    cpDepth: rng.uniform(0.065, 0.1),
    lungHalfWidth: rng.uniform(0.36, 0.405) * (male ? 1 : 0.97),
    medialHalf: rng.uniform(0.06, 0.074),
    bodyHalf: rng.uniform(0.47, 0.53),
    heartLeft: rng.uniform(0.2, 0.235),
    heartRight: rng.uniform(0.11, 0.135),
    heartHeight: rng.uniform(0.2, 0.24),
    heartScale: 1,
    ribSpacing: rng.uniform(0.05, 0.058),
    ribHalf: rng.uniform(0.011, 0.014),
    tissue: rng.uniform(0.9, 1.12),
    air: rng.uniform(0.92, 1.06),
    breast: male ? 0 : rng.uniform(0.5, 1),
  };
}

/** Patient position and exposure of one film. */
export interface Pose {
  view: ViewPosition;
  scale: number;
  rotation: number;
  shiftU: number;
  shiftV: number;
  /** Attenuation scale of the tone curve (higher = brighter film). */
  exposure: number;
  gamma: number;
  /** Output window: black level and white level in tone units. */
  black: number;
  white: number;
  /** Quantum noise sigma (fraction of full scale). */
  noise: number;
  /** Extra inspiration depth (-: poor inspiration, diaphragm higher). */
  inspiration: number;
  /** Whether the arms are in the field (soft tissue in the upper corners). */
  arms: boolean;
}

/** Draws the pose and exposure of one film. AP films are magnified and usually shallower inspirations. */
export function drawPose(rng: Rng, view: ViewPosition): Pose {
  const ap = view === 'AP' || view === 'AP Supine';
  return {
    view,
    scale: rng.uniform(0.9, 1.02) * (ap ? 1.03 : 1),
    rotation: rng.normal(0, 0.025),
    shiftU: rng.normal(0, 0.015),
    shiftV: rng.uniform(-0.02, 0.03),
    exposure: rng.uniform(0.95, 1.25),
    gamma: rng.uniform(0.9, 1.25),
    black: rng.uniform(0.0, 0.06),
    white: rng.uniform(0.93, 1.03),
    noise: rng.uniform(0.006, 0.018),
    inspiration: ap ? rng.uniform(-0.05, 0) : rng.uniform(-0.02, 0.02),
    arms: rng.bernoulli(ap ? 0.6 : 0.3),
  };
}
