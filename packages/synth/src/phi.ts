import type { Rng } from '@multichexnet/core';

/*
 * Fake protected health information for the synthetic DICOM files. Real RSNA/SIIM files were de-identified,
 * so a loader that leaks PHI would never be caught on them; the synthetic files therefore carry realistic but
 * FAKE values, every one of them containing the marker `SYNTH` (names `SYNTH^...`), so a privacy test can
 * scan logs, errors and outputs for the marker and prove nothing leaked.
 */

/** The marker every fake PHI value contains. */
export const SYNTH_PHI_MARKER = 'SYNTH';

/** Fake PHI of one synthetic study (DICOM value formats: PN, DA, TM, SH, LO). */
export interface FakePhi {
  patientName: string;
  patientBirthDate: string;
  patientAddress: string;
  institutionName: string;
  institutionAddress: string;
  referringPhysicianName: string;
  operatorsName: string;
  accessionNumber: string;
  studyId: string;
  studyDate: string;
  studyTime: string;
  stationName: string;
}

const FAMILY = [
  'SMITH',
  'GARCIA',
  'JOHNSON',
  'NGUYEN',
  'BROWN',
  'MARTIN',
  'ROSSI',
  'SCHMIDT',
  'KOWALSKI',
  'SILVA',
  'KIM',
  'PATEL',
  'MOREAU',
  'JANSEN',
  'IVANOV',
  'OKAFOR',
];
const GIVEN_M = ['JOHN', 'DAVID', 'CARLOS', 'WEI', 'AHMED', 'LUCA', 'JAN', 'PIOTR', 'KENJI', 'OMAR'];
const GIVEN_F = ['MARY', 'ANNA', 'MARIA', 'LI', 'FATIMA', 'GIULIA', 'EVA', 'SOFIA', 'YUKI', 'AMARA'];
const TOWNS = ['SPRINGFIELD', 'RIVERTON', 'LAKEWOOD', 'FAIRVIEW', 'GREENVILLE', 'MILLBROOK'];

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Fake PHI for a patient of `sex` and `age` years. */
export function fakePhi(rng: Rng, sex: 'M' | 'F', age: number): FakePhi {
  const family = rng.pick(FAMILY);
  const given = rng.pick(sex === 'M' ? GIVEN_M : GIVEN_F);
  const year = rng.int(2012, 2020);
  const month = rng.int(1, 13);
  const day = rng.int(1, 29);
  const town = rng.pick(TOWNS);
  return {
    patientName: `${SYNTH_PHI_MARKER}^${family}^${given}`,
    patientBirthDate: `${pad(Math.max(1900, year - age), 4)}${pad(rng.int(1, 13), 2)}${pad(rng.int(1, 29), 2)}`,
    patientAddress: `${rng.int(1, 999)} ${SYNTH_PHI_MARKER} STREET, ${town}`,
    institutionName: `${SYNTH_PHI_MARKER} ${town} GENERAL HOSPITAL`,
    institutionAddress: `${rng.int(1, 999)} ${SYNTH_PHI_MARKER} AVENUE, ${town}`,
    referringPhysicianName: `${SYNTH_PHI_MARKER}^${rng.pick(FAMILY)}^DR`,
    operatorsName: `${SYNTH_PHI_MARKER}^${rng.pick(FAMILY)}`,
    accessionNumber: `${SYNTH_PHI_MARKER}${pad(rng.int(0, 100000000), 8)}`,
    studyId: `${SYNTH_PHI_MARKER}${pad(rng.int(0, 1000000), 6)}`,
    studyDate: `${year}${pad(month, 2)}${pad(day, 2)}`,
    studyTime: `${pad(rng.int(7, 20), 2)}${pad(rng.int(0, 60), 2)}${pad(rng.int(0, 60), 2)}`,
    stationName: `${SYNTH_PHI_MARKER}CR${rng.int(1, 9)}`,
  };
}
