import type { Rng } from '@multichexnet/core';

/*
 * Identifiers in the real datasets' styles, drawn from the generator's seeded Rng (never from crypto or the
 * clock, so a seed reproduces them).
 */

const HEX = '0123456789abcdef';

/** A lower-case version-4 UUID (the RSNA `patientId` and SIIM `PatientID` style). */
export function randomUuid(rng: Rng): string {
  let s = '';
  for (let i = 0; i < 32; i++) {
    let nibble = rng.int(0, 16);
    if (i === 12) nibble = 4;
    if (i === 16) nibble = 8 + (nibble & 3);
    s += HEX[nibble];
    if (i === 7 || i === 11 || i === 15 || i === 19) s += '-';
  }
  return s;
}

/** The Study, Series and SOP Instance UIDs of one film. */
export interface FilmUids {
  study: string;
  series: string;
  sop: string;
}

/**
 * UIDs in the SIIM/RSNA style `1.2.276.0.7230010.3.1.{2,3,4}.8323329.<n>.<seconds>.<micro>`: the same root,
 * the study/series/SOP arcs 2/3/4 and the SOP's last number one above the study's and two above the series'.
 * Synthetic ones use a six-digit `<n>` (100000-999999), above the small numbers of the real files, so a
 * synthetic UID is never a real one.
 */
export function filmUids(rng: Rng, n: number): FilmUids {
  const seconds = 1517874000 + rng.int(0, 3000);
  const micro = rng.int(100002, 999999);
  const tail = (arc: number, last: number): string => `1.2.276.0.7230010.3.1.${arc}.8323329.${n}.${seconds}.${last}`;
  return { study: tail(2, micro - 1), series: tail(3, micro - 2), sop: tail(4, micro) };
}

/** `n` distinct integers in [lo, hi), in draw order. */
export function distinctInts(rng: Rng, n: number, lo: number, hi: number): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  while (out.length < n) {
    const v = rng.int(lo, hi);
    if (!seen.has(v)) {
      seen.add(v);
      out.push(v);
    }
  }
  return out;
}
